/**
 * What the reading-room pages show and send, as pure functions of the APIs' answers: number
 * formats, the worklist's filters and keyboard moves, the finding-context panel's lines and
 * the answer the study page posts. No DOM here, so that the node's tests run these exact
 * functions (and check the posted answer against the server's own schema); the browser code
 * in client/ only puts their results on the page.
 */
import type {
  ContextAnalysis,
  ContextFinding,
  Estimate,
  SiteValidation,
  WorklistRow,
} from './apiTypes.js';

/** Where each role starts after login (and where `/` sends it). */
export function homeFor(role: string): string {
  switch (role) {
    case 'radiologist':
      return '/worklist';
    case 'auditor':
      return '/audit';
    default:
      return '/models';
  }
}

/**
 * A `next` target after login: a path on this node only (never `//host` or a scheme), so
 * the login page cannot be made to send a user elsewhere.
 */
export function safeNext(next: string | null): string | null {
  if (next === null || !/^\/(?![/\\])[A-Za-z0-9/_.@~-]*$/.test(next)) return null;
  if (next === '/login') return null;
  return next;
}

/** The OHIF viewer's URL from the context API, only when it stays on this node under /ohif/. */
export function safeViewerUrl(url: string | null): string | null {
  if (url === null || !url.startsWith('/ohif/') || url.includes('//')) return null;
  return url;
}

export const probabilityText = (p: number | null | undefined): string =>
  p === null || p === undefined || !Number.isFinite(p) ? '—' : p.toFixed(2);

/** `0.89 (95% CI 0.83–0.94)`, or the value alone when the report gives no interval. */
export function estimateText(estimate: Estimate | null | undefined, level = '95% CI'): string {
  if (estimate === null || estimate === undefined) return 'not reported';
  const value = estimate.value.toFixed(2);
  if (typeof estimate.low !== 'number' || typeof estimate.high !== 'number') return value;
  return `${value} (${level} ${estimate.low.toFixed(2)}–${estimate.high.toFixed(2)})`;
}

/** The site-validation part of the context panel, as term/description pairs. */
export function siteValidationLines(
  validation: SiteValidation | null | undefined,
): readonly (readonly [string, string])[] {
  if (validation === null || validation === undefined) {
    return [
      ['Site validation', "no site validation report for this model version on this site's data"],
    ];
  }
  const lines: [string, string][] = [
    ['AUC', estimateText(validation.auc)],
    ['Sensitivity', estimateText(validation.sensitivity)],
    ['Specificity', estimateText(validation.specificity)],
    [
      'Validated on',
      `${validation.images} images${typeof validation.patients === 'number' ? `, ${validation.patients} patients` : ''}`,
    ],
  ];
  if (typeof validation.threshold === 'number') {
    lines.push(['At operating point', validation.threshold.toFixed(2)]);
  }
  if (typeof validation.ci === 'string' && validation.ci !== '') {
    lines.push(['Intervals', validation.ci]);
  }
  lines.push([
    'Report',
    `${validation.source}${validation.date === null ? '' : `, ${validation.date.slice(0, 10)}`}`,
  ]);
  return lines;
}

/** The context of one finding, as term/description pairs. */
export function findingLines(
  analysis: ContextAnalysis,
  finding: ContextFinding,
): readonly (readonly [string, string])[] {
  const lines: [string, string][] = [
    ['Probability', probabilityText(finding.probability)],
    ['Operating point', probabilityText(finding.threshold)],
    [
      'AI call',
      finding.present
        ? 'at or above the operating point (positive)'
        : 'below the operating point (negative)',
    ],
    [
      'Model',
      `${analysis.model.name ?? analysis.model.id} — ${analysis.model.id}@${analysis.model.version}`,
    ],
  ];
  if (typeof finding.heatmapInLungs === 'number') {
    lines.push(['Heatmap in the lungs', `${Math.round(finding.heatmapInLungs * 100)}%`]);
  }
  lines.push([
    'Out of distribution',
    finding.ood?.flagged === true
      ? (finding.ood.text ?? 'flagged: the image is unlike the training data')
      : 'not flagged',
  ]);
  return lines;
}

/** The caveats that concern one image (those naming no image concern the whole study). */
export function caveatsFor(analysis: ContextAnalysis, sopInstanceUid: string): readonly string[] {
  return (analysis.caveats ?? [])
    .filter((c) => c.image === null || c.image === sopInstanceUid)
    .map((c) => c.text);
}

export interface WorklistFilters {
  readonly status: string;
  readonly finding: string;
  readonly model: string;
  readonly from: string;
  readonly to: string;
}

export const NO_FILTERS: WorklistFilters = { status: '', finding: '', model: '', from: '', to: '' };
const FILTER_NAMES = ['status', 'finding', 'model', 'from', 'to'] as const;

/** The filters in a page's query string (the same names the worklist API takes). */
export function filtersFromSearch(search: string): WorklistFilters {
  const params = new URLSearchParams(search);
  const pick = (name: (typeof FILTER_NAMES)[number]): string => params.get(name)?.trim() ?? '';
  return {
    status: pick('status'),
    finding: pick('finding'),
    model: pick('model'),
    from: pick('from'),
    to: pick('to'),
  };
}

/** The worklist API's query for these filters (empty ones left out) and a page's offset. */
export function worklistQuery(filters: WorklistFilters, offset = 0): string {
  const params = new URLSearchParams();
  for (const name of FILTER_NAMES) {
    const value = filters[name].trim();
    if (value !== '') params.set(name, value);
  }
  if (offset > 0) params.set('offset', String(offset));
  const text = params.toString();
  return text === '' ? '' : `?${text}`;
}

/**
 * Where this page of rows lies in the whole list, and the offsets of the pages before and
 * after (null at the ends): the API answers at most `limit` rows at a time.
 */
export function pageOf(answer: {
  readonly total: number;
  readonly offset: number;
  readonly limit: number;
  readonly rows: readonly unknown[];
}): { readonly text: string; readonly previous: number | null; readonly next: number | null } {
  const first = answer.rows.length === 0 ? 0 : answer.offset + 1;
  const last = answer.offset + answer.rows.length;
  return {
    text: `Showing ${first}–${last} of ${answer.total}`,
    previous: answer.offset > 0 ? Math.max(0, answer.offset - answer.limit) : null,
    next: last < answer.total ? last : null,
  };
}

export const anyFilter = (filters: WorklistFilters): boolean =>
  FILTER_NAMES.some((name) => filters[name].trim() !== '');

/** What one worklist row shows. */
export interface RowView {
  readonly href: string;
  readonly rank: string;
  readonly urgent: boolean;
  readonly mark: string;
  readonly reason: string;
  readonly finding: string;
  readonly probability: string;
  readonly model: string;
  readonly arrived: string;
  readonly status: string;
  readonly flags: string;
}

export function rowView(row: WorklistRow): RowView {
  // The analysis's own words when it gives coded caveats (ADR 0179), else the row's flags.
  const flags =
    row.caveats !== undefined && row.caveats.length > 0
      ? row.caveats.map((c) => c.text).join('; ')
      : [
          ...(row.outOfDistribution ? ['out of distribution'] : []),
          ...(row.intendedUseCaveat ? ['intended-use caveat'] : []),
        ].join(', ');
  return {
    href: `/studies/${encodeURIComponent(row.studyKey)}`,
    rank: String(row.rank),
    urgent: row.urgent,
    mark: row.urgent ? 'URGENT' : row.actionable ? 'actionable' : '',
    reason: row.reason.text,
    finding: row.finding?.meaning ?? '—',
    probability:
      row.probability === null
        ? '—'
        : `${probabilityText(row.probability)} / ${probabilityText(row.threshold)}`,
    model: row.model,
    arrived: row.arrivedAt.replace('T', ' ').slice(0, 16),
    status: row.status,
    flags,
  };
}

/**
 * The row the keyboard moves focus to: ↓/j the next, ↑/k the previous (staying at the ends),
 * Home/End the first/last; null for other keys. From no row, ↓ and ↑ start at the first.
 */
export function nextRow(current: number | null, key: string, count: number): number | null {
  if (count === 0) return null;
  switch (key) {
    case 'ArrowDown':
    case 'j':
      return current === null ? 0 : Math.min(current + 1, count - 1);
    case 'ArrowUp':
    case 'k':
      return current === null ? 0 : Math.max(current - 1, 0);
    case 'Home':
      return 0;
    case 'End':
      return count - 1;
    default:
      return null;
  }
}

/** What the answer form holds. */
export interface AnswerForm {
  readonly answer: string;
  readonly correctLabel: string;
  readonly comment: string;
}

export type FeedbackDraft =
  | { readonly ok: true; readonly body: Record<string, unknown> }
  | { readonly ok: false; readonly problem: string };

/**
 * The body of POST /api/feedback for one finding (src/node/feedback/feedbackSchema.ts), or
 * what is missing. `elapsedMs` is the time from opening the study page to answering.
 */
export function feedbackDraft(
  studyKey: string,
  analysis: ContextAnalysis,
  finding: ContextFinding,
  form: AnswerForm,
  elapsedMs: number,
): FeedbackDraft {
  if (!['agree', 'disagree', 'uncertain'].includes(form.answer)) {
    return { ok: false, problem: 'choose agree, disagree or uncertain' };
  }
  if (form.answer === 'disagree' && form.correctLabel === '') {
    return { ok: false, problem: 'a disagreement needs the correct answer' };
  }
  const sr = finding.srSopInstanceUid ?? analysis.sr?.sopInstanceUid ?? null;
  if (sr === null || finding.code === null || finding.code === undefined) {
    return {
      ok: false,
      problem:
        'the study context names no SR or finding code for this finding, so the answer cannot be recorded — see the node log',
    };
  }
  const comment = form.comment.trim();
  return {
    ok: true,
    body: {
      studyKey,
      srSopInstanceUid: sr,
      sourceSopInstanceUid: finding.sopInstanceUid,
      finding: {
        code: finding.code.value,
        scheme: finding.code.scheme,
        meaning: finding.code.meaning,
        labelId: finding.label,
      },
      model: { id: analysis.model.id, version: analysis.model.version },
      aiCall: finding.present ? 'positive' : 'negative',
      probability: finding.probability,
      answer: form.answer,
      ...(form.answer === 'disagree' ? { correctLabel: form.correctLabel } : {}),
      ...(comment === '' ? {} : { comment: comment.slice(0, 2000) }),
      timeToAnswerMs: Math.max(0, Math.min(Math.round(elapsedMs), 24 * 3600 * 1000)),
    },
  };
}

/** The labels a disagreement may name: the model's other findings in this study, and none. */
export function correctLabelChoices(
  analysis: ContextAnalysis,
  finding: ContextFinding,
): readonly (readonly [string, string])[] {
  const others = new Map<string, string>();
  for (const f of analysis.findings) {
    if (f.label !== finding.label) others.set(f.label, f.meaning);
  }
  return [
    ['none', finding.present ? `no ${finding.meaning.toLowerCase()} (no finding)` : 'no finding'],
    ...(finding.present ? [] : ([[finding.label, `${finding.meaning} is present`]] as const)),
    ...[...others].map(([label, meaning]) => [label, meaning] as const),
  ];
}
