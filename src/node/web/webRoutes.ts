/**
 * The reading room's pages and static assets on the node's HTTP port (ADRs 0190, 0191). The
 * listener has already decided access from the route table; this part answers: a page is a
 * small HTML shell (pageShell.ts) whose script fills it from the JSON APIs, served with a
 * content security policy that lets only this node's own scripts, styles, frames and
 * connections in; `/` sends each role to its start page; `/assets/…` serves the stylesheet
 * and the compiled browser modules (client/, shared/) from a fixed list made at start-up,
 * so no request path ever reaches the file system.
 */
import { readdirSync, readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { principalOf } from '../access/index.js';
import { renderPage, type PageRequest, type ShellUser } from './pageShell.js';
import { homeFor } from './shared/views.js';
import { APP_CSS } from './styles.js';

/**
 * The policy of every page (ADR 0191): scripts, styles, images, fetches and frames from this
 * node only; no inline script or style, no eval, no plugins; pages are never framed by
 * others; forms post only here.
 */
export const PAGE_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "frame-src 'self'",
  "form-action 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
].join('; ');

const STUDY_KEY = /^[A-Za-z0-9_-]{8,128}$/;
const MODEL_ID = /^[A-Za-z0-9_.-]{1,128}$/;
const MODEL_VERSION = /^[A-Za-z0-9_.+-]{1,64}$/;

interface Asset {
  readonly type: string;
  readonly body: Buffer;
}

/** Where the compiled browser modules are: beside this file in dist/ (npm run build). */
const HERE = fileURLToPath(new URL('.', import.meta.url));

/**
 * The assets by URL path below /assets/: app.css and every compiled .js of client/ and
 * shared/ (tests and source maps left out). Read once; a missing folder gives no modules
 * (the node was run from source without `npm run build`), which `missingClient` reports.
 */
export function loadAssets(dir = HERE): Map<string, Asset> {
  const assets = new Map<string, Asset>([
    ['app.css', { type: 'text/css; charset=utf-8', body: Buffer.from(APP_CSS, 'utf8') }],
  ]);
  for (const folder of ['client', 'shared']) {
    let names: string[];
    try {
      names = readdirSync(join(dir, folder));
    } catch {
      continue;
    }
    for (const name of names) {
      if (!name.endsWith('.js') || name.endsWith('.test.js')) continue;
      assets.set(`${folder}/${name}`, {
        type: 'text/javascript; charset=utf-8',
        body: readFileSync(join(dir, folder, name)),
      });
    }
  }
  return assets;
}

export interface WebRoutes {
  /** Answers an admitted request for one of the web routes; false when it does not exist. */
  handle(
    req: IncomingMessage,
    res: ServerResponse,
    operationId: string,
    params: Readonly<Record<string, string>>,
  ): boolean;
}

function send(res: ServerResponse, status: number, type: string, body: Buffer | string): void {
  const bytes = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
  res.writeHead(status, { 'content-type': type, 'content-length': bytes.byteLength });
  res.end(bytes);
}

export function createWebRoutes(assets: Map<string, Asset> = loadAssets()): WebRoutes {
  const missingClient = !assets.has('client/common.js');
  const page = (res: ServerResponse, request: PageRequest): true => {
    if (missingClient) {
      send(
        res,
        503,
        'text/plain; charset=utf-8',
        'The reading room’s browser code is not built: run `npm run build` (it compiles src/node/web/client into dist/).\n',
      );
      return true;
    }
    res.setHeader('content-security-policy', PAGE_CSP);
    // Cross-origin isolated (with the global COOP same-origin), so that the OHIF frame of the
    // study page is too and gets SharedArrayBuffer for its decoders (ADR 0195); every
    // resource of a page is this node's own, which require-corp admits.
    res.setHeader('cross-origin-embedder-policy', 'require-corp');
    send(res, 200, 'text/html; charset=utf-8', renderPage(request));
    return true;
  };
  return {
    handle(req, res, operationId, params) {
      if (operationId === 'readAsset') {
        const asset = assets.get(params['asset'] ?? '');
        if (asset === undefined) return false;
        send(res, 200, asset.type, asset.body);
        return true;
      }
      if (operationId === 'loginPage') return page(res, { page: 'login' });
      const principal = principalOf(req);
      if (principal?.kind !== 'user') return false;
      const user: ShellUser = { name: principal.session.userName, role: principal.session.role };
      switch (operationId) {
        case 'homePage':
          res.writeHead(302, { location: homeFor(user.role), 'content-length': 0 }).end();
          return true;
        case 'worklistPage':
          return page(res, { page: 'worklist', user });
        case 'modelsPage':
          return page(res, { page: 'models', user });
        case 'auditPage':
          return page(res, { page: 'audit', user });
        case 'studyPage': {
          const studyKey = params['studyKey'] ?? '';
          return STUDY_KEY.test(studyKey) && page(res, { page: 'study', user, studyKey });
        }
        case 'modelPage': {
          const id = params['id'] ?? '';
          const version = params['version'] ?? '';
          return (
            MODEL_ID.test(id) &&
            MODEL_VERSION.test(version) &&
            page(res, { page: 'model', user, id, version })
          );
        }
        default:
          return false;
      }
    },
  };
}
