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
import {
  OHIF_APP_VERSION,
  OHIF_MEDIA_TYPES,
  installOhifApp,
  ohifAppConfig,
} from '../../src/node/viewer/index.js';
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

/**
 * OHIF's configuration for the Orthanc test (ADR 0153): the product's generator with Orthanc's
 * DICOMweb on the same origin's /dicom-web (no includefield; Accept's multipart type unquoted,
 * as Orthanc expects).
 */
function orthancAppConfig(): string {
  return ohifAppConfig({
    basename: '/',
    dicomWebRoot: '/dicom-web',
    server: {
      name: 'orthanc',
      friendlyName: 'Orthanc (Radiolens test)',
      qidoSupportsIncludeField: false,
      quoteMultipartType: false,
    },
  });
}

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
          response.writeHead(200, { ...isolation, 'content-type': OHIF_MEDIA_TYPES['.js']! });
          response.end(orthancAppConfig());
          return;
        }
        let file = resolve(root, `.${normalize(decodeURIComponent(url.pathname))}`);
        if (!file.startsWith(root + sep) || !(await isFile(file))) file = join(root, 'index.html');
        response.writeHead(200, {
          ...isolation,
          'content-type': OHIF_MEDIA_TYPES[extname(file)] ?? 'application/octet-stream',
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
