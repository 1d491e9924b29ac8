/**
 * The reading room's HTML: one small shell per page (ADR 0190). A shell carries no patient
 * data — only the logged-in user's name and role, the page's non-PHI address (a study key, a
 * model id and version) and the elements the page's script fills from the JSON APIs. No
 * inline script or style anywhere (the pages' CSP allows neither).
 */
import type { Role } from '../access/index.js';

export type PageName = 'login' | 'worklist' | 'study' | 'models' | 'model' | 'audit';

const ESCAPES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

/** Text for an HTML text node or a double-quoted attribute. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ESCAPES[c]!);
}

const NAV: Record<Role, readonly (readonly [string, string])[]> = {
  radiologist: [
    ['/worklist', 'Worklist'],
    ['/models', 'Models'],
  ],
  auditor: [
    ['/audit', 'Audit log'],
    ['/models', 'Models'],
  ],
  administrator: [['/models', 'Models']],
  'data-scientist': [['/models', 'Models']],
};

export interface ShellUser {
  readonly name: string;
  readonly role: Role;
}

function header(user: ShellUser, current: string): string {
  const links = NAV[user.role]
    .map(
      ([href, text]) =>
        `<li><a href="${href}"${href === current ? ' aria-current="page"' : ''}>${text}</a></li>`,
    )
    .join('');
  return `<header class="bar">
<span class="brand">Radiolens reading room</span>
<nav aria-label="Pages"><ul>${links}</ul></nav>
<span class="who">${escapeHtml(user.name)} <span class="role">(${escapeHtml(user.role)})</span></span>
<button type="button" id="logout">Log out</button>
</header>`;
}

function document(title: string, script: string, body: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)} — Radiolens</title>
<link rel="stylesheet" href="/assets/app.css">
<script type="module" src="/assets/client/${script}.js"></script>
</head>
<body>
<a class="skip" href="#main">Skip to content</a>
${body}
</body>
</html>
`;
}

const WORKLIST_BODY = `<h1>Worklist</h1>
<p id="budget" class="note"></p>
<form id="filters" class="filters" aria-label="Filter the worklist">
<div><label for="f-status">Status</label>
<select id="f-status" name="status">
<option value="">any</option>
<option value="analysed">analysed</option>
<option value="answered">answered</option>
<option value="failed">failed</option>
</select></div>
<div><label for="f-finding">Finding (label id)</label><input id="f-finding" name="finding" type="text" autocomplete="off" placeholder="e.g. pneumonia"></div>
<div><label for="f-model">Model (id or id@version)</label><input id="f-model" name="model" type="text" autocomplete="off"></div>
<div><label for="f-from">Arrived from</label><input id="f-from" name="from" type="date"></div>
<div><label for="f-to">Arrived to</label><input id="f-to" name="to" type="date"></div>
<div class="actions"><button type="submit">Apply filters</button> <button type="reset" id="f-clear">Clear</button></div>
</form>
<p id="live" class="note" aria-live="polite"></p>
<div id="state" role="status" aria-live="polite"></div>
<p class="note">Keys: ↓/j and ↑/k move between studies, Enter opens one.</p>
<table id="worklist" class="list" hidden>
<caption>Studies in clinical priority order</caption>
<thead><tr><th scope="col">#</th><th scope="col">Priority</th><th scope="col">Why here</th><th scope="col">Finding</th><th scope="col">Probability / operating point</th><th scope="col">Model</th><th scope="col">Arrived (UTC)</th><th scope="col">Status</th><th scope="col">Study</th></tr></thead>
<tbody></tbody>
</table>
<nav id="pages" class="pages" aria-label="Worklist pages" hidden>
<button type="button" id="page-previous">Previous page</button>
<span id="page-text"></span>
<button type="button" id="page-next">Next page</button>
</nav>`;

function studyBody(studyKey: string): string {
  return `<h1>Study <span class="key">${escapeHtml(studyKey)}</span></h1>
<div id="state" role="status" aria-live="polite"></div>
<div class="study" data-study-key="${escapeHtml(studyKey)}">
<section id="viewer" class="viewer" aria-label="Images (OHIF Viewer)"></section>
<aside id="context" class="context" aria-label="The AI's findings and their context"></aside>
</div>`;
}

const MODELS_BODY = `<h1>Models</h1>
<div id="state" role="status" aria-live="polite"></div>
<table id="models" class="list" hidden>
<caption>Model versions installed on this node</caption>
<thead><tr><th scope="col">Model</th><th scope="col">Version</th><th scope="col">Task</th><th scope="col">Active</th><th scope="col">Routes</th></tr></thead>
<tbody></tbody>
</table>`;

function modelBody(id: string, version: string): string {
  return `<h1>Model <span class="key">${escapeHtml(id)}@${escapeHtml(version)}</span></h1>
<p><a href="/models">All models</a></p>
<div id="state" role="status" aria-live="polite"></div>
<div id="model" data-model-id="${escapeHtml(id)}" data-model-version="${escapeHtml(version)}"></div>`;
}

const AUDIT_BODY = `<h1>Audit log</h1>
<p id="chain" class="note" role="status"></p>
<div id="state" role="status" aria-live="polite"></div>
<table id="audit" class="list" hidden>
<caption>The latest records, newest first</caption>
<thead><tr><th scope="col">#</th><th scope="col">When (UTC)</th><th scope="col">Who</th><th scope="col">What</th><th scope="col">Subject</th><th scope="col">Details</th></tr></thead>
<tbody></tbody>
</table>`;

const LOGIN_BODY = `<main id="main" class="login" tabindex="-1">
<h1>Radiolens reading room</h1>
<form id="login-form" aria-label="Log in">
<div><label for="user">User name</label><input id="user" name="user" type="text" autocomplete="username" required></div>
<div><label for="password">Password</label><input id="password" name="password" type="password" autocomplete="current-password" required></div>
<div><button type="submit">Log in</button></div>
<p id="login-status" role="alert"></p>
</form>
</main>`;

export type PageRequest =
  | { readonly page: 'login' }
  | { readonly page: 'worklist' | 'models' | 'audit'; readonly user: ShellUser }
  | { readonly page: 'study'; readonly user: ShellUser; readonly studyKey: string }
  | {
      readonly page: 'model';
      readonly user: ShellUser;
      readonly id: string;
      readonly version: string;
    };

/** The whole HTML of a page. */
export function renderPage(request: PageRequest): string {
  if (request.page === 'login') return document('Log in', 'login', LOGIN_BODY);
  const main = (path: string, body: string): string =>
    `${header(request.user, path)}\n<main id="main" tabindex="-1">\n${body}\n</main>`;
  switch (request.page) {
    case 'worklist':
      return document('Worklist', 'worklist', main('/worklist', WORKLIST_BODY));
    case 'study':
      return document('Study', 'study', main('', studyBody(request.studyKey)));
    case 'models':
      return document('Models', 'models', main('/models', MODELS_BODY));
    case 'model':
      return document(
        `${request.id}@${request.version}`,
        'model',
        main('', modelBody(request.id, request.version)),
      );
    case 'audit':
      return document('Audit log', 'audit', main('/audit', AUDIT_BODY));
  }
}

/**
 * The answer to a page request that was refused: 401 sends the browser to the login page
 * (a meta refresh: no script runs under the default policy) and says so in words; 403 says
 * which role the page needs. `path` is the page asked for (a non-PHI address), kept as the
 * login page's `next`.
 */
export function refusalPage(status: 401 | 403, message: string, path: string): string {
  const next = `/login?next=${encodeURIComponent(path)}`;
  const head =
    status === 401
      ? `<meta http-equiv="refresh" content="0; url=${escapeHtml(next)}">\n<title>Log in — Radiolens</title>`
      : '<title>Not for your role — Radiolens</title>';
  const body =
    status === 401
      ? `<h1>Please log in</h1>\n<p>Your session has ended or you have not logged in. <a href="${escapeHtml(next)}">Log in</a>.</p>`
      : `<h1>Not for your role</h1>\n<p>${escapeHtml(message)}</p>\n<p><a href="/">Back to your start page</a></p>`;
  return `<!doctype html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n${head}\n</head>\n<body>\n<main>\n${body}\n</main>\n</body>\n</html>\n`;
}
