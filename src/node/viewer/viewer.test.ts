/**
 * The viewer's parts without a browser (ADR 0195): the public path rewritten in index.html,
 * scripts and stylesheets; the app config; the installer's integrity check; and the routes
 * over a small stand-in app folder — files, the app's own routes, app-config.js, the
 * viewer's security headers with the inline scripts' hashes, no way out of the folder, and
 * 404 naming the remedy when nothing is installed.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { httpCall } from '../../../test/support/httpClient.js';
import {
  OHIF_APP_INTEGRITY,
  createOhifRoutes,
  inlineScripts,
  installOhifApp,
  integrityOf,
  ohifAppConfig,
  rebaseIndexHtml,
  rebaseScript,
  rebaseStylesheet,
} from './index.js';

const INDEX =
  '<!doctype html><html><head><script>console.time("x"),window.PUBLIC_URL="/"</script>' +
  '<link rel="manifest" href="/manifest.json"><script src="/app-config.js"></script>' +
  '<script defer src="/app.bundle.0f6159c501addfe9.js"></script><a href="//cdn.example/x">x</a></head></html>';

describe('the public path, rewritten as served', () => {
  it('moves index.html, webpack chunks and stylesheet fonts under /ohif/', () => {
    const html = rebaseIndexHtml(INDEX, '/ohif/');
    assert.match(html, /window\.PUBLIC_URL="\/ohif\/"/);
    assert.match(html, /href="\/ohif\/manifest\.json"/);
    assert.match(html, /src="\/ohif\/app-config\.js"/);
    assert.match(html, /src="\/ohif\/app\.bundle\.0f6159c501addfe9\.js"/);
    assert.match(html, /href="\/\/cdn\.example\/x"/, 'a protocol-relative URL is left alone');
    assert.equal(
      rebaseScript('a;__webpack_require__.p = "/";b', '/ohif/'),
      'a;__webpack_require__.p = "/ohif/";b',
    );
    assert.equal(rebaseScript('no public path here', '/ohif/'), undefined);
    assert.equal(
      rebaseStylesheet('src:url(/a34f.woff2) format("woff2"),url(//x/y)', '/ohif/'),
      'src:url(/ohif/a34f.woff2) format("woff2"),url(//x/y)',
    );
    assert.equal(rebaseStylesheet('body{color:red}', '/ohif/'), undefined);
    assert.deepEqual(inlineScripts(html), ['console.time("x"),window.PUBLIC_URL="/ohif/"']);
  });

  it("the app config names the node's DICOMweb on the same origin and the basename", () => {
    const config = ohifAppConfig({ basename: '/ohif', dicomWebRoot: '/dicomweb' });
    assert.match(config, /routerBasename: "\/ohif"/);
    assert.match(config, /qidoRoot: window\.location\.origin \+ "\/dicomweb"/);
    assert.match(config, /wadoRoot: window\.location\.origin \+ "\/dicomweb"/);
    assert.match(config, /omitQuotationForMultipartRequest: false/);
  });
});

describe('installing the app', () => {
  it('refuses a tarball whose integrity is not the pinned one, installing nothing', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'radiolens-ohif-install-'));
    try {
      const tarball = join(dir, 'ohif-app-3.13.2.tgz');
      await writeFile(tarball, 'not the tarball');
      await assert.rejects(
        installOhifApp({ dist: join(dir, 'viewer', 'dist'), from: tarball }),
        (error: Error & { code?: string }) =>
          error.code === 'E_PACKAGE_TAMPERED' && /is not @ohif\/app@3\.13\.2/.test(error.message),
      );
      assert.notEqual(integrityOf(Buffer.from('not the tarball')), OHIF_APP_INTEGRITY);
      await assert.rejects(
        installOhifApp({ dist: join(dir, 'viewer', 'dist'), from: join(dir, 'missing.tgz') }),
        /cannot read the OHIF tarball/,
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('the viewer routes over an app folder', () => {
  let dir: string;
  let server: Server;
  let base: string;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'radiolens-ohif-routes-'));
    const app = join(dir, 'dist');
    await mkdir(join(app, 'assets'), { recursive: true });
    await writeFile(join(app, 'index.html'), INDEX);
    await writeFile(join(app, 'app.bundle.0f6159c501addfe9.js'), 'x;__webpack_require__.p = "/";y');
    await writeFile(join(app, 'assets', 'logo.svg'), '<svg/>');
    await writeFile(join(dir, 'secret.txt'), 'outside the app');
    const installed = createOhifRoutes({
      dir: app,
      dicomWebRoot: '/dicomweb',
      tls: false,
      remedy: 'radiolens viewer fetch',
    });
    const missing = createOhifRoutes({
      dir: join(dir, 'none'),
      dicomWebRoot: '/dicomweb',
      tls: false,
      remedy: 'radiolens viewer fetch --data /somewhere',
    });
    server = createServer((req, res) => {
      const url = new URL(req.url ?? '/', 'http://x');
      const [routes, path] = url.pathname.startsWith('/missing')
        ? [missing, url.pathname.slice('/missing'.length)]
        : [installed, url.pathname.slice('/ohif'.length)];
      void routes.handle(req, res, path).then((handled) => {
        if (!handled) res.writeHead(599).end();
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const address = server.address();
    base = `http://127.0.0.1:${typeof address === 'object' && address !== null ? address.port : 0}`;
  });

  after(async () => {
    await new Promise<void>((r) => server.close(() => r()));
    await rm(dir, { recursive: true, force: true });
  });

  it("serves index.html for the app's own routes with the viewer's headers and the inline scripts' hashes", async () => {
    const page = await httpCall(`${base}/ohif/viewer?StudyInstanceUIDs=1.2.3`);
    assert.equal(page.status, 200);
    assert.match(String(page.headers['content-type']), /text\/html/);
    assert.match(page.body, /window\.PUBLIC_URL="\/ohif\/"/);
    const hash = createHash('sha256')
      .update('console.time("x"),window.PUBLIC_URL="/ohif/"')
      .digest('base64');
    const csp = String(page.headers['content-security-policy']);
    assert.match(
      csp,
      new RegExp(`script-src 'self' 'wasm-unsafe-eval' 'sha256-${hash.replace(/[+/]/g, '\\$&')}'`),
    );
    assert.doesNotMatch(csp, /'unsafe-eval'|'unsafe-inline'[^;]*script|\*/);
    assert.match(csp, /frame-ancestors 'self'/);
    assert.equal(page.headers['cross-origin-embedder-policy'], 'require-corp');
    assert.equal(page.headers['cross-origin-opener-policy'], 'same-origin');
    assert.equal(page.headers['x-frame-options'], 'SAMEORIGIN');
    assert.equal(page.headers['cache-control'], 'no-store');
    assert.equal((await httpCall(`${base}/ohif/`)).body, page.body);
  });

  it('serves files, rewriting the public path of a bundle; app-config.js is generated', async () => {
    const bundle = await httpCall(`${base}/ohif/app.bundle.0f6159c501addfe9.js`);
    assert.equal(bundle.body, 'x;__webpack_require__.p = "/ohif/";y');
    assert.match(String(bundle.headers['content-type']), /text\/javascript/);
    assert.match(String(bundle.headers['cache-control']), /immutable/);
    const logo = await httpCall(`${base}/ohif/assets/logo.svg`);
    assert.equal(logo.body, '<svg/>');
    assert.equal(logo.headers['content-type'], 'image/svg+xml');
    const config = await httpCall(`${base}/ohif/app-config.js`);
    assert.match(config.body, /routerBasename: "\/ohif"/);
    assert.equal((await httpCall(`${base}/ohif`)).status, 308);
  });

  it('never serves a file outside the app folder', async () => {
    for (const path of [
      '/ohif/../secret.txt',
      '/ohif/%2e%2e/secret.txt',
      '/ohif/..%2fsecret.txt',
    ]) {
      const answer = await httpCall(`${base}${path}`);
      assert.doesNotMatch(answer.body, /outside the app/, path);
    }
  });

  it('answers 404 naming the remedy when the app is not installed', async () => {
    const answer = await httpCall(`${base}/missing/viewer`);
    assert.equal(answer.status, 404);
    assert.deepEqual(JSON.parse(answer.body), {
      error: 'the OHIF Viewer (@ohif/app 3.13.2) is not installed on this node',
      remedy: 'radiolens viewer fetch --data /somewhere',
    });
  });
});
