/**
 * What every reading-room page shares in the browser: calling the node's JSON API with the
 * session cookie (and the CSRF token on changes), going back to the login page when the
 * session has ended, the logout button, and building elements from text — never from HTML,
 * so nothing an API returns can become markup (no innerHTML anywhere in client/).
 */
import type { SessionInfo } from '../shared/apiTypes.js';

/** A refusal or failure of an API call, with what the page should say. */
export class ApiProblem extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** To the login page, coming back here afterwards (the path holds no PHI: keys only). */
export function goToLogin(): never {
  window.location.assign(`/login?next=${encodeURIComponent(window.location.pathname)}`);
  throw new ApiProblem(401, 'your session has ended: log in again');
}

let session: Promise<SessionInfo> | undefined;

/** Who is logged in, with the CSRF token (asked once per page). */
export function currentSession(): Promise<SessionInfo> {
  session ??= api<SessionInfo>('/api/session');
  return session;
}

function problemText(status: number, body: unknown): string {
  const error =
    typeof body === 'object' && body !== null && 'error' in body
      ? String((body as { error: unknown }).error)
      : '';
  switch (status) {
    case 403:
      return `not allowed: ${error || 'your role may not do this'}`;
    case 404:
      return `not found: ${error || 'no such thing on this node'}`;
    case 503:
      return `the node is unavailable right now (${error || '503'}); try again in a moment`;
    default:
      return `the node answered ${status}${error === '' ? '' : `: ${error}`}`;
  }
}

/**
 * GET (or POST with a JSON body) one of the node's JSON routes. 401 sends the browser to the
 * login page; any other failure is an ApiProblem whose message a page can show; a network
 * failure (the node is down) is one with status 0.
 */
export async function api<T>(
  path: string,
  init: { method?: 'GET' | 'POST'; body?: unknown } = {},
): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (init.method === 'POST') {
    headers['content-type'] = 'application/json';
    headers['x-csrf-token'] = (await currentSession()).csrfToken;
  }
  let response: Response;
  try {
    response = await fetch(path, {
      method: init.method ?? 'GET',
      headers,
      credentials: 'same-origin',
      ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }),
    });
  } catch {
    throw new ApiProblem(
      0,
      'the node cannot be reached: check the network or whether Radiolens is running',
    );
  }
  if (response.status === 401) goToLogin();
  const text = await response.text();
  let body: unknown;
  try {
    body = text === '' ? null : JSON.parse(text);
  } catch {
    body = null;
  }
  if (!response.ok) throw new ApiProblem(response.status, problemText(response.status, body));
  return body as T;
}

type Child = Node | string | null | undefined | false;

/** An element with attributes and children; strings become text nodes. */
export function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attributes: Record<string, string | boolean> = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === false) continue;
    element.setAttribute(name, value === true ? '' : value);
  }
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    element.append(typeof child === 'string' ? document.createTextNode(child) : child);
  }
  return element;
}

/** A definition list of term/description pairs. */
export function facts(lines: readonly (readonly [string, string])[]): HTMLDListElement {
  const list = el('dl', { class: 'facts' });
  for (const [term, description] of lines)
    list.append(el('dt', {}, term), el('dd', {}, description));
  return list;
}

export function byId<T extends HTMLElement = HTMLElement>(id: string): T {
  const found = document.getElementById(id);
  if (found === null) throw new Error(`the page has no #${id}`);
  return found as T;
}

/** Shows a state line (loading, empty, error) in the page's #state region. */
export function showState(kind: 'loading' | 'empty' | 'error' | 'none', text = ''): void {
  const state = byId('state');
  state.className = kind === 'none' ? '' : `state-${kind}`;
  state.textContent = text;
}

/** The logout button of the page's header: ends the session, then the login page. */
export function wireLogout(): void {
  const button = document.getElementById('logout');
  button?.addEventListener('click', () => {
    void (async () => {
      try {
        await api('/api/logout', { method: 'POST' });
      } finally {
        window.location.assign('/login');
      }
    })();
  });
}

/** Runs a page's start function once the document is ready, showing a failure as the state. */
export function startPage(start: () => Promise<void>): void {
  const run = (): void => {
    wireLogout();
    start().catch((error: unknown) => {
      if (document.getElementById('state') !== null) {
        showState('error', error instanceof Error ? error.message : String(error));
      }
    });
  };
  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', run);
  else run();
}
