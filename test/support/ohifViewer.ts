/**
 * Test support: the real OHIF Viewer — the built app that npm's `@ohif/app` ships in `dist/`
 * — served statically on loopback with our own `app-config.js` that points its DICOMweb data
 * source at an Orthanc (proxied under the same origin, so no CORS setup is needed), for the
 * end-to-end viewer test (issue #12). The package is fetched once with `npm pack` (the npm
 * registry is the one network source the tests may use), checked against its pinned
 * integrity, and unpacked into `.cache/ohif/<version>/` (git-ignored). Test support only.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rm, stat } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { extname, join, normalize, resolve, sep } from 'node:path';
import { repoRoot } from './paths.js';

export const OHIF_APP_VERSION = '3.13.2';
/** `npm view @ohif/app@3.13.2 dist.integrity`: a different tarball is refused. */
const OHIF_APP_INTEGRITY =
  'sha512-WZdxmpmG7rqFgW9ZJLcbgr3XCtLi1KDNPoMaeY5PPe6j4G4fjEjjkycZM6C6Zk2F87BKxFfpq+jd5xXZB9E8EA==';

/** The folder holding OHIF's built app (index.html, bundles), fetched on first use. */
export async function ensureOhifApp(): Promise<string> {
  const base = join(repoRoot, '.cache', 'ohif', OHIF_APP_VERSION);
  const dist = join(base, 'package', 'dist');
  if (existsSync(join(dist, 'index.html'))) return dist;
  await rm(base, { recursive: true, force: true });
  await mkdir(base, { recursive: true });
  const name = execFileSync(
    'npm',
    ['pack', `@ohif/app@${OHIF_APP_VERSION}`, '--pack-destination', base, '--silent'],
    { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] },
  ).trim();
  const tarball = join(base, name.split('\n').pop()!);
  const digest = `sha512-${createHash('sha512')
    .update(await readFile(tarball))
    .digest('base64')}`;
  if (digest !== OHIF_APP_INTEGRITY) {
    throw new Error(
      `@ohif/app ${OHIF_APP_VERSION}: tarball integrity ${digest} is not the pinned one`,
    );
  }
  execFileSync('tar', ['-xzf', tarball, '-C', base, 'package/dist']);
  await rm(tarball);
  if (!existsSync(join(dist, 'index.html'))) {
    throw new Error(`@ohif/app ${OHIF_APP_VERSION} has no built app in dist/`);
  }
  return dist;
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
