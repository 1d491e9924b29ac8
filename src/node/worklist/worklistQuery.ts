/**
 * The worklist's query parameters, parsed once at the edge (zod): an unknown, repeated or
 * malformed parameter is a 400 that names it, never silently ignored.
 */
import { z } from 'zod';
import type { WorklistRow, WorklistStatus } from './worklistOrder.js';

export const WORKLIST_DEFAULT_LIMIT = 50;
export const WORKLIST_MAX_LIMIT = 500;

/** A calendar date (whole day, UTC) or an ISO 8601 date-time with a zone. */
const instant = z
  .string()
  .regex(
    /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,3})?)?(Z|[+-]\d{2}:\d{2}))?$/,
    'a date (YYYY-MM-DD) or a date-time with a zone (YYYY-MM-DDThh:mm:ssZ)',
  )
  // Date.parse rolls 2026-02-30 over to March: the calendar date must survive the round trip.
  .refine((text) => {
    const at = Date.parse(text.slice(0, 10));
    return !Number.isNaN(at) && new Date(at).toISOString().startsWith(text.slice(0, 10));
  }, 'not a real date')
  .refine((text) => !Number.isNaN(Date.parse(text)), 'not a real date-time');

const whole = (min: number, max: number) =>
  z
    .string()
    .regex(/^\d{1,6}$/, 'a whole number')
    .transform(Number)
    .pipe(z.number().int().min(min).max(max));

export const worklistQuerySchema = z
  .object({
    status: z.enum(['analysed', 'failed', 'answered']).optional(),
    /** The decisive finding's label id. */
    finding: z
      .string()
      .regex(/^[A-Za-z0-9_.-]{1,64}$/, 'a model label id')
      .optional(),
    /** A model id (any version) or id@version. */
    model: z
      .string()
      .regex(/^[A-Za-z0-9_.-]{1,128}(@[A-Za-z0-9_.+-]{1,64})?$/, 'a model id or id@version')
      .optional(),
    /** Arrived at or after (a date: from its start, UTC). */
    from: instant.optional(),
    /** Arrived before the end of (a date: the whole day, UTC) or at/before a date-time. */
    to: instant.optional(),
    limit: whole(1, WORKLIST_MAX_LIMIT).optional(),
    offset: whole(0, 1_000_000).optional(),
  })
  .strict();

export type WorklistQuery = z.infer<typeof worklistQuerySchema>;

export type ParsedQuery =
  | { readonly ok: true; readonly query: WorklistQuery }
  | { readonly ok: false; readonly issues: { path: string; message: string }[] };

export function parseWorklistQuery(search: URLSearchParams): ParsedQuery {
  const repeated = [...new Set(search.keys())].filter((key) => search.getAll(key).length > 1);
  if (repeated.length > 0) {
    return {
      ok: false,
      issues: repeated.map((path) => ({ path, message: 'given more than once' })),
    };
  }
  const parsed = worklistQuerySchema.safeParse(Object.fromEntries(search));
  if (parsed.success) {
    const { from, to } = parsed.data;
    if (from !== undefined && to !== undefined && bounds(from).start > bounds(to).end) {
      return { ok: false, issues: [{ path: 'from', message: 'from is after to' }] };
    }
    return { ok: true, query: parsed.data };
  }
  return {
    ok: false,
    issues: parsed.error.issues.map((issue) => ({
      path:
        issue.path.join('.') || (issue.code === 'unrecognized_keys' ? issue.keys.join(',') : ''),
      message:
        issue.code === 'unrecognized_keys'
          ? `unknown parameter; known: ${Object.keys(worklistQuerySchema.shape).join(', ')}`
          : issue.message,
    })),
  };
}

/** A date is the whole UTC day; a date-time is one instant. */
function bounds(text: string): { start: number; end: number } {
  const at = Date.parse(text);
  return text.length === 10 ? { start: at, end: at + 86_400_000 - 1 } : { start: at, end: at };
}

/** The rows the query selects (the order and the urgent marks stay those of the whole list). */
export function filterRows(rows: readonly WorklistRow[], query: WorklistQuery): WorklistRow[] {
  const status: WorklistStatus | undefined = query.status;
  const from = query.from === undefined ? undefined : bounds(query.from).start;
  const to = query.to === undefined ? undefined : bounds(query.to).end;
  return rows.filter(
    (row) =>
      (status === undefined || row.status === status) &&
      (query.finding === undefined || row.finding?.label === query.finding) &&
      (query.model === undefined ||
        row.model === query.model ||
        (!query.model.includes('@') && row.model.split('@')[0] === query.model)) &&
      (from === undefined || row.arrivedAt >= from) &&
      (to === undefined || row.arrivedAt <= to),
  );
}
