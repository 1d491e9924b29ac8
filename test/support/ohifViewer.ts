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
import assert from 'node:assert/strict';
import { readFile, stat } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { extname, join, normalize, resolve, sep } from 'node:path';
import {
  OHIF_APP_VERSION,
  OHIF_MEDIA_TYPES,
  installOhifApp,
  ohifAppConfig,
} from '../../src/node/viewer/index.js';
import { errors, type FrameLocator, type Locator, type Page } from 'playwright-core';
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

/** OHIF opened as a page, or inside a frame of the reading room's study page. */
type ViewerRoot = Page | FrameLocator;

export interface ConsoleMessage {
  readonly type: string;
  readonly text: string;
}

/** Keeps every console message and uncaught error of the page in `into`. */
export function recordConsole(page: Page, into: ConsoleMessage[]): void {
  page.on('console', (message) => into.push({ type: message.type(), text: message.text() }));
  page.on('pageerror', (error) => into.push({ type: 'pageerror', text: String(error) }));
}

/**
 * Waits until OHIF's study browser lists our series by their descriptions, "AI <model>
 * <version> findings" / "… heatmap" (ADR 0142), and a viewport has rendered; returns the SR's
 * thumbnail.
 */
export async function waitForOurSeries(viewer: ViewerRoot, timeoutMs: number): Promise<Locator> {
  const sr = viewer.getByText(/AI \S+ \S+ findings/).first();
  await sr.waitFor({ timeout: timeoutMs });
  await viewer
    .getByText(/AI \S+ \S+ heatmap/)
    .first()
    .waitFor({ timeout: timeoutMs });
  await viewer.locator('canvas').first().waitFor({ timeout: timeoutMs });
  return sr;
}

/**
 * Opens the SR as a radiologist would: past OHIF 3.13's guided tour, a double-click. The tour
 * (a full-page overlay that takes every click) starts on its own once the viewer route has
 * mounted and the elements it points at exist, which on a slow machine can be after our
 * series are listed — so one look for it before the click is a race (it lost once in CI).
 * Each try therefore skips the tour if it is showing, then double-clicks with a short
 * timeout; a click the overlay took is tried again until `timeoutMs`.
 */
export async function openSr(viewer: ViewerRoot, sr: Locator, timeoutMs = 60_000): Promise<void> {
  const skipTour = viewer.getByText('Skip all');
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await skipTour.isVisible()) await skipTour.click();
    try {
      await sr.dblclick({ timeout: 3_000 });
      return;
    } catch (error) {
      if (!(error instanceof errors.TimeoutError) || Date.now() > deadline) throw error;
    }
  }
}

/**
 * Console messages showing that OHIF's SR extension failed (our SR once made it throw reading
 * ReferencedSOPSequence) or passed over a finding group it cannot draw ("… skipping
 * annotation.").
 */
export function srExtensionProblems(messages: readonly ConsoleMessage[]): {
  readonly errors: ConsoleMessage[];
  readonly skipped: ConsoleMessage[];
} {
  return {
    errors: messages.filter(
      (m) =>
        (m.type === 'error' || m.type === 'pageerror') &&
        /\bSR\b|ReferencedSOPSequence|SCOORD|measurement|TypeError/i.test(m.text),
    ),
    skipped: messages.filter((m) => /skipping annotation/i.test(m.text)),
  };
}

/**
 * Asserts that the opened SR's finding is drawn on the image: OHIF 3.13 draws a TID 1410
 * group with an image region (SCOORD) as an annotation in the viewport's SVG layer — the
 * region's outline (or an arrow's line for a point) and a text box of "<NUM concept meaning>:
 * <value> <unit>" lines. The first NUM names the finding ("Probability of Pneumonia", ADR
 * 0144), the second is the standard concept. Returns the drawn lines.
 */
export async function assertFindingDrawn(
  viewer: ViewerRoot,
  finding: { readonly meaning: string; readonly probability: number },
  timeoutMs: number,
): Promise<string[]> {
  const value = (Math.round(finding.probability * 10000) / 100).toFixed(2);
  const expected = `Probability of ${finding.meaning}: ${value} %`;
  const layer = viewer.locator('svg.svg-layer').first();
  // Wait for the text, but report what was drawn instead of a bare timeout.
  await layer
    .locator('text tspan', { hasText: expected })
    .first()
    .waitFor({ timeout: timeoutMs })
    .catch(() => undefined);
  const lines = (await layer.locator('text tspan').allTextContents()).map((l) => l.trim());
  assert.ok(
    lines.includes(expected),
    `the viewport draws "${expected}" (drawn: ${JSON.stringify(lines)})`,
  );
  assert.ok(lines.includes(`Certainty of Finding: ${value} %`), 'and the standard concept');
  assert.ok(
    (await layer.locator('polyline, path, line').count()) > 0,
    'the finding region is drawn in the viewport',
  );
  return lines;
}
