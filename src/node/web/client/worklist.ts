/**
 * The worklist page: GET /api/worklist with the filters, rows in the API's order (never
 * re-sorted here: the order is the clinical priority), live updates from
 * /api/worklist/events (each notice → fetch again), keyboard moves between rows, and
 * clear loading, empty and error states.
 */
import type { WorklistAnswer } from '../shared/apiTypes.js';
import {
  anyFilter,
  filtersFromSearch,
  nextRow,
  pageOf,
  rowView,
  worklistQuery,
  type WorklistFilters,
} from '../shared/views.js';
import { ApiProblem, api, byId, el, goToLogin, showState, startPage } from './common.js';

const FIELDS = ['status', 'finding', 'model', 'from', 'to'] as const;

function readForm(form: HTMLFormElement): WorklistFilters {
  const data = new FormData(form);
  const value = (name: string): string => String(data.get(name) ?? '').trim();
  return {
    status: value('status'),
    finding: value('finding'),
    model: value('model'),
    from: value('from'),
    to: value('to'),
  };
}

function fillForm(form: HTMLFormElement, filters: WorklistFilters): void {
  for (const name of FIELDS) {
    const field = form.elements.namedItem(name) as HTMLInputElement | HTMLSelectElement | null;
    if (field !== null) field.value = filters[name];
  }
}

function rowLinks(): HTMLAnchorElement[] {
  return [...document.querySelectorAll<HTMLAnchorElement>('#worklist tbody a.open')];
}

/** The page of rows shown (an offset into the whole list); a new filter starts again at 0. */
let offset = 0;

function renderPages(answer: WorklistAnswer): void {
  const nav = byId('pages');
  const page = pageOf(answer);
  nav.hidden = page.previous === null && page.next === null;
  byId('page-text').textContent = page.text;
  byId<HTMLButtonElement>('page-previous').disabled = page.previous === null;
  byId<HTMLButtonElement>('page-next').disabled = page.next === null;
  byId('page-previous').dataset['offset'] = String(page.previous ?? 0);
  byId('page-next').dataset['offset'] = String(page.next ?? 0);
}

function render(answer: WorklistAnswer, filters: WorklistFilters): void {
  const table = byId<HTMLTableElement>('worklist');
  const body = table.tBodies[0]!;
  // Keep the focused study focused across a live update.
  const focusedKey = (document.activeElement as HTMLElement | null)?.dataset['studyKey'];
  const budget = answer.alertBudget;
  byId('budget').textContent =
    `${answer.total} studies. Urgent marks: ${budget.urgent} of at most ${budget.maxUrgent} per ${budget.windowHours} h (the site's alert budget).`;
  body.replaceChildren();
  renderPages(answer);
  if (answer.rows.length === 0) {
    table.hidden = true;
    showState(
      'empty',
      anyFilter(filters)
        ? 'No study matches these filters. Clear them to see the whole worklist.'
        : 'No analysed studies yet. Studies appear here as soon as their analysis is done.',
    );
    return;
  }
  showState('none');
  table.hidden = false;
  for (const row of answer.rows) {
    const view = rowView(row);
    const link = el(
      'a',
      { href: view.href, class: 'open', 'data-study-key': row.studyKey },
      `Open study ${view.rank}`,
    );
    body.append(
      el(
        'tr',
        { class: view.urgent ? 'urgent' : '', 'data-study-key': row.studyKey },
        el('td', {}, view.rank),
        el(
          'td',
          {},
          view.mark === ''
            ? ''
            : el('span', { class: view.urgent ? 'mark-urgent' : 'mark-actionable' }, view.mark),
        ),
        el(
          'td',
          {},
          view.reason,
          view.flags === '' ? '' : el('div', { class: 'note' }, `Caveat: ${view.flags}`),
        ),
        el('td', {}, view.finding),
        el('td', {}, view.probability),
        el('td', {}, view.model),
        el('td', {}, view.arrived),
        el('td', {}, view.status),
        el('td', {}, link),
      ),
    );
    if (row.studyKey === focusedKey) link.focus();
  }
}

async function load(filters: WorklistFilters): Promise<void> {
  try {
    render(await api<WorklistAnswer>(`/api/worklist${worklistQuery(filters, offset)}`), filters);
  } catch (error) {
    byId('worklist').hidden = true;
    const problem = error instanceof ApiProblem ? error : new ApiProblem(0, String(error));
    showState(
      'error',
      problem.status === 400
        ? `These filters are not valid: ${problem.message}`
        : `The worklist cannot be shown: ${problem.message}`,
    );
  }
}

/** Live updates: a notice says something changed; the page fetches the worklist again. */
function listen(refresh: () => void): void {
  const live = byId('live');
  let pending: number | undefined;
  const source = new EventSource('/api/worklist/events');
  source.addEventListener('ready', () => {
    live.textContent = 'Live: the list updates as results arrive.';
  });
  source.addEventListener('worklist-changed', () => {
    window.clearTimeout(pending);
    pending = window.setTimeout(refresh, 250);
  });
  source.addEventListener('error', () => {
    live.textContent = 'Live updates interrupted; reconnecting…';
    // The stream ends with the session: ask whether it is still there (401 → login).
    void api('/api/session').then(
      () => {
        if (source.readyState === EventSource.CLOSED) {
          live.textContent = 'Live updates are off; reload the page to resume them.';
        }
      },
      (error: unknown) => {
        if (error instanceof ApiProblem && error.status === 401) goToLogin();
      },
    );
  });
}

startPage(async () => {
  const form = byId<HTMLFormElement>('filters');
  let filters = filtersFromSearch(window.location.search);
  fillForm(form, filters);
  const apply = (next: WorklistFilters): void => {
    filters = next;
    offset = 0;
    // The filters (status, label, model, dates: no PHI) stay in the address for a reload.
    const query = worklistQuery(filters);
    window.history.replaceState(null, '', `/worklist${query}`);
    void load(filters);
  };
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    apply(readForm(form));
  });
  form.addEventListener('reset', () => {
    window.setTimeout(() => apply(readForm(form)), 0);
  });
  for (const id of ['page-previous', 'page-next']) {
    byId(id).addEventListener('click', () => {
      offset = Number(byId(id).dataset['offset'] ?? '0');
      void load(filters);
    });
  }
  document.addEventListener('keydown', (event) => {
    if (event.altKey || event.ctrlKey || event.metaKey) return;
    const target = event.target as HTMLElement;
    if (target.closest('input, select, textarea') !== null) return;
    const links = rowLinks();
    const current = links.indexOf(document.activeElement as HTMLAnchorElement);
    const next = nextRow(current < 0 ? null : current, event.key, links.length);
    if (next === null) return;
    event.preventDefault();
    links[next]!.focus();
  });
  showState('loading', 'Loading the worklist…');
  await load(filters);
  listen(() => void load(filters));
});
