/**
 * GET /ohif/… (ADR 0195): the built OHIF Viewer from its installed folder, under the node's
 * own path, with the node's `app-config.js`, OHIF's own security headers (looser than the
 * rest of the node: scripts, wasm, workers) and the files' public path rewritten as served
 * (publicPath.ts). A path that is not a file of the app is one of its own routes
 * (`/ohif/viewer?StudyInstanceUIDs=…`): index.html answers it. Access (radiologist) is the
 * listener's, from the route table; the app's files carry no patient data and are not
 * audited — the study's reads through /dicomweb are.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { extname, join, normalize, resolve, sep } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { sendJson } from '../../foundation/core/index.js';
import { viewerSecurityHeaders } from '../access/index.js';
import { ohifAppConfig } from './ohifConfig.js';
import { OHIF_APP_VERSION, isOhifApp } from './ohifPackage.js';
import { inlineScripts, rebaseIndexHtml, rebaseScript, rebaseStylesheet } from './publicPath.js';

/** Where the node serves the viewer. */
export const VIEWER_ROOT = '/ohif';

/** The media types of the built app's files, by extension. */
export const OHIF_MEDIA_TYPES: Readonly<Record<string, string>> = {
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
  '.xml': 'application/xml',
  '.txt': 'text/plain; charset=utf-8',
};

/** Bundle files named by their content hash never change: a browser may keep them a day. */
const HASHED = /(^|[./])[0-9a-f]{16}\.(js|css|wasm|woff2?)$/;

export interface OhifRouteOptions {
  /** The folder holding the app's index.html (resolved at each request: installing needs no restart). */
  readonly dir: string;
  /** The node's DICOMweb root on the same origin. */
  readonly dicomWebRoot: string;
  readonly tls: boolean;
  /** The remedy named when the app is not installed, e.g. `radiolens viewer fetch --data …`. */
  readonly remedy: string;
}

export interface OhifRoutes {
  /** Whether the app is installed, for the reading room's study context. */
  available(): boolean;
  /** `path` is below VIEWER_ROOT ('' or '/…'). */
  handle(req: IncomingMessage, res: ServerResponse, path: string): Promise<boolean>;
}

interface Served {
  readonly body: Buffer;
  readonly type: string;
}

export function createOhifRoutes(options: OhifRouteOptions): OhifRoutes {
  const root = resolve(options.dir);
  const base = `${VIEWER_ROOT}/`;
  /** Rewritten files (index.html, the few bundles with a public path), made once. */
  const rewritten = new Map<string, Served | null>();
  let index: { served: Served; hashes: string[] } | undefined;

  const indexPage = async (): Promise<{ served: Served; hashes: string[] }> => {
    if (index !== undefined) return index;
    const html = rebaseIndexHtml(await readFile(join(root, 'index.html'), 'utf8'), base);
    const hashes = inlineScripts(html).map((s) =>
      createHash('sha256').update(s, 'utf8').digest('base64'),
    );
    index = { served: { body: Buffer.from(html), type: OHIF_MEDIA_TYPES['.html']! }, hashes };
    return index;
  };

  const rewrite = async (file: string): Promise<Served | null> => {
    if (rewritten.has(file)) return rewritten.get(file)!;
    const ext = extname(file);
    let served: Served | null = null;
    if (ext === '.js' || ext === '.css') {
      const text = await readFile(file, 'utf8');
      const changed = ext === '.js' ? rebaseScript(text, base) : rebaseStylesheet(text, base);
      if (changed !== undefined)
        served = { body: Buffer.from(changed), type: OHIF_MEDIA_TYPES[ext]! };
    }
    rewritten.set(file, served);
    return served;
  };

  const send = (
    req: IncomingMessage,
    res: ServerResponse,
    hashes: string[],
    type: string,
    cache: string,
    body: Buffer | { file: string; size: number },
  ): Promise<void> | void => {
    for (const [name, value] of Object.entries(viewerSecurityHeaders(options.tls, hashes))) {
      res.setHeader(name, value);
    }
    const length = Buffer.isBuffer(body) ? body.length : body.size;
    res.writeHead(200, { 'content-type': type, 'content-length': length, 'cache-control': cache });
    if (req.method === 'HEAD') {
      res.end();
      return;
    }
    if (Buffer.isBuffer(body)) {
      res.end(body);
      return;
    }
    return pipeline(createReadStream(body.file), res);
  };

  return {
    available: () => isOhifApp(root),
    async handle(req, res, path) {
      if (req.method !== 'GET' && req.method !== 'HEAD') return false;
      if (!isOhifApp(root)) {
        sendJson(res, 404, {
          error: `the OHIF Viewer (@ohif/app ${OHIF_APP_VERSION}) is not installed on this node`,
          remedy: options.remedy,
        });
        return true;
      }
      if (path === '') {
        // The app's relative paths resolve against its folder: /ohif → /ohif/.
        res.writeHead(308, { location: base }).end();
        return true;
      }
      const { hashes, served: page } = await indexPage();
      if (path === '/app-config.js') {
        const config = ohifAppConfig({ basename: VIEWER_ROOT, dicomWebRoot: options.dicomWebRoot });
        await send(req, res, hashes, OHIF_MEDIA_TYPES['.js']!, 'no-store', Buffer.from(config));
        return true;
      }
      let file: string;
      try {
        file = resolve(root, `.${normalize(decodeURIComponent(path))}`);
      } catch {
        file = root;
      }
      const info =
        file.startsWith(root + sep) && file !== join(root, 'index.html')
          ? await stat(file).catch(() => undefined)
          : undefined;
      if (info === undefined || !info.isFile()) {
        // One of the app's own routes (/viewer, /segmentation…): the app answers it.
        await send(req, res, hashes, page.type, 'no-store', page.body);
        return true;
      }
      const cache = HASHED.test(file) ? 'private, max-age=86400, immutable' : 'no-cache';
      const type = OHIF_MEDIA_TYPES[extname(file)] ?? 'application/octet-stream';
      const changed = await rewrite(file);
      await send(req, res, hashes, type, cache, changed?.body ?? { file, size: info.size });
      return true;
    },
  };
}
