/**
 * Test support: the real OHIF Viewer — the built app that npm's `@ohif/app` ships in `dist/`
 * — served statically on loopback with our own `app-config.js` that points its DICOMweb data
 * source at an Orthanc (proxied under the same origin, so no CORS setup is needed), for the
 * end-to-end viewer test (issue #12). The package is fetched once with `npm pack` (the npm
 * registry is the one network source the tests may use), checked against its pinned
 * integrity, and unpacked into `.cache/ohif/<version>/dist` (git-ignored) by the product's
 * installer (`radiolens viewer fetch`, src/node/viewer). The node serves the same app itself
 * at /ohif/ (ADR 0195); this server is for the Orthanc-backed test.
 */
import { readFile, stat } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { extname, join, normalize, resolve, sep } from 'node:path';
import { OHIF_APP_VERSION, installOhifApp } from '../../src/node/viewer/index.js';
import { repoRoot } from './paths.js';

export { OHIF_APP_VERSION };

/**
 * The folder holding OHIF's built app (index.html, bundles), fetched on first use by the
 * product's own installer (src/node/viewer, ADR 0195) into `.cache/ohif/<version>/dist`.
 */
export async function ensureOhifApp(): Promise<string> {
  return (
    await installOhifApp({ dist: join(repoRoot, '.cache', 'ohif', OHIF_APP_VERSION, 'dist') })
  ).dist;
}

/** OHIF 3.x configuration: one DICOMweb data source, the same origin's /dicom-web. */
export function ohifAppConfig(): string {
  return `window.config = {
  routerBasename: '/',
  showStudyList: true,
  extensions: [],
  modes: [],
  showWarningMessageForCrossOrigin: false,
  showCPUFallbackMessage: false,
  showLoadingIndicator: true,
  investigationalUseDialog: { option: 'never' },
  defaultDataSourceName: 'dicomweb',
  dataSources: [
    {
      namespace: '@ohif/extension-default.dataSourcesModule.dicomweb',
      sourceName: 'dicomweb',
      configuration: {
        friendlyName: 'Orthanc (Radiolens test)',
        name: 'orthanc',
        wadoUriRoot: window.location.origin + '/dicom-web',
        qidoRoot: window.location.origin + '/dicom-web',
        wadoRoot: window.location.origin + '/dicom-web',
        qidoSupportsIncludeField: false,
        imageRendering: 'wadors',
        thumbnailRendering: 'wadors',
        enableStudyLazyLoad: true,
        supportsFuzzyMatching: false,
        supportsWildcard: true,
        dicomUploadEnabled: false,
        omitQuotationForMultipartRequest: true,
        bulkDataURI: { enabled: true },
      },
    },
  ],
};
`;
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.wasm': 'application/wasm',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff': 'font/woff',
  '.woff2': 'font/woff2',
  '.ttf': 'font/ttf',
};

export interface OhifServer {
  readonly url: string;
  close(): Promise<void>;
}

/**
 * Serve `dist` on a free loopback port: `/app-config.js` is ours, `/dicom-web/…` is passed to
 * Orthanc's DICOMweb root, anything else is a file of the app or, for the app's own routes
 * (/viewer?…), its index.html. Cross-origin isolation headers as OHIF's own `_headers` asks.
 */
export async function serveOhif(dist: string, orthancUrl: string): Promise<OhifServer> {
  const root = resolve(dist);
  const server: Server = createServer((request, response) => {
    void (async () => {
      const url = new URL(request.url ?? '/', 'http://localhost');
      const isolation = {
        'Cross-Origin-Opener-Policy': 'same-origin',
        'Cross-Origin-Embedder-Policy': 'require-corp',
        'Cross-Origin-Resource-Policy': 'same-origin',
      };
      try {
        if (url.pathname.startsWith('/dicom-web/')) {
          const upstream = await fetch(`${orthancUrl}${url.pathname}${url.search}`, {
            headers: { accept: request.headers.accept ?? '*/*' },
          });
          const body = Buffer.from(await upstream.arrayBuffer());
          response.writeHead(upstream.status, {
            ...isolation,
            'content-type': upstream.headers.get('content-type') ?? 'application/octet-stream',
          });
          response.end(body);
          return;
        }
        if (url.pathname === '/app-config.js') {
          response.writeHead(200, { ...isolation, 'content-type': TYPES['.js']! });
          response.end(ohifAppConfig());
          return;
        }
        let file = resolve(root, `.${normalize(decodeURIComponent(url.pathname))}`);
        if (!file.startsWith(root + sep) || !(await isFile(file))) file = join(root, 'index.html');
        response.writeHead(200, {
          ...isolation,
          'content-type': TYPES[extname(file)] ?? 'application/octet-stream',
        });
        response.end(await readFile(file));
      } catch (error) {
        response.writeHead(500, { 'content-type': 'text/plain' });
        response.end(String(error));
      }
    })();
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () => new Promise<void>((done) => server.close(() => done())),
  };
}

async function isFile(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isFile();
  } catch {
    return false;
  }
}
