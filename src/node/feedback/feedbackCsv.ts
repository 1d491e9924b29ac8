/**
 * Answers as the CSVs the validation commands read (ADR 0171), so that feedback becomes
 * site validation data and reader-study data without hand work:
 *
 * - `validate`: `image,<label id>…` as `radiolens validate --labels` reads it. The truth of a
 *   label on an image is the radiologists' answer: agree keeps the AI's call, disagree turns
 *   it over, uncertain gives none. Each reader's latest answer counts; readers who disagree
 *   with one another leave the image out (a tie is no reference standard).
 * - `mrmc`: `reader,case,modality,truth,score,time_ms` as `radiolens stats mrmc` reads it,
 *   for one label: per reader and case, the AI alone (modality `ai`, score its probability,
 *   time 0) and the radiologist with the AI (modality `radiologist`, score 1 / 0.5 / 0 for a
 *   positive / uncertain / negative call, time from opening to answering). The truth comes
 *   from a reference standard given separately: the readers cannot be scored against
 *   themselves. Only cases every reader answered are written (OR needs a crossed design).
 */
import { RadiolensError } from '../../foundation/core/index.js';
import type { FeedbackRecord } from './feedbackStore.js';

export interface CsvExport {
  readonly csv: string;
  readonly rows: number;
  /** Why answers were left out, with how many; empty when none were. */
  readonly skipped: readonly { readonly reason: string; readonly count: number }[];
}

function field(value: string | number): string {
  const text = String(value);
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

function line(values: readonly (string | number)[]): string {
  return `${values.map(field).join(',')}\r\n`;
}

/** The reader's own call on the finding: 1 present, 0 absent, undefined when uncertain. */
export function readerCall(answer: FeedbackRecord): 0 | 1 | undefined {
  const ai = answer.aiCall === 'positive' ? 1 : 0;
  if (answer.answer === 'agree') return ai;
  if (answer.answer === 'disagree') return ai === 1 ? 0 : 1;
  return undefined;
}

/** Each reader's latest answer per image and label (a changed mind replaces the earlier). */
export function latestAnswers(answers: readonly FeedbackRecord[]): FeedbackRecord[] {
  const latest = new Map<string, FeedbackRecord>();
  for (const answer of [...answers].sort((a, b) => a.answeredAt - b.answeredAt || a.id - b.id)) {
    latest.set(
      `${answer.userId}\u0000${answer.sourceSopInstanceUid}\u0000${answer.finding.labelId}`,
      answer,
    );
  }
  return [...latest.values()];
}

class Skips {
  private readonly counts = new Map<string, number>();
  add(reason: string, n = 1): void {
    this.counts.set(reason, (this.counts.get(reason) ?? 0) + n);
  }
  list(): { reason: string; count: number }[] {
    return [...this.counts].map(([reason, count]) => ({ reason, count }));
  }
}

/**
 * The `radiolens validate` labels CSV. `imageOf` turns a source image's SOP Instance UID into
 * the path to write (relative to the CSV), or undefined when the node no longer holds it.
 */
export function feedbackValidateCsv(
  answers: readonly FeedbackRecord[],
  imageOf: (sopInstanceUid: string) => string | undefined,
): CsvExport {
  const skipped = new Skips();
  const labels = [...new Set(answers.map((a) => a.finding.labelId))].sort();
  const byImage = new Map<string, Map<string, (0 | 1)[]>>();
  for (const answer of latestAnswers(answers)) {
    const call = readerCall(answer);
    if (call === undefined) {
      skipped.add('uncertain answers give no truth');
      continue;
    }
    const calls = byImage.get(answer.sourceSopInstanceUid) ?? new Map<string, (0 | 1)[]>();
    byImage.set(answer.sourceSopInstanceUid, calls);
    calls.set(answer.finding.labelId, [...(calls.get(answer.finding.labelId) ?? []), call]);
  }
  let csv = line(['image', ...labels]);
  let rows = 0;
  for (const [sop, calls] of byImage) {
    const truth: number[] = [];
    for (const label of labels) {
      const votes = calls.get(label) ?? [];
      const positive = votes.filter((v) => v === 1).length;
      if (votes.length === 0 || positive * 2 === votes.length) break;
      truth.push(positive * 2 > votes.length ? 1 : 0);
    }
    if (truth.length < labels.length) {
      skipped.add('images without an agreed answer for every label');
      continue;
    }
    const image = imageOf(sop);
    if (image === undefined) {
      skipped.add('images the node no longer holds');
      continue;
    }
    csv += line([image, ...truth]);
    rows += 1;
  }
  return { csv, rows, skipped: skipped.list() };
}

/**
 * The `radiolens stats mrmc` long-format CSV for `label`. `truthOf` is the reference standard
 * by case (the source image's SOP Instance UID).
 */
export function feedbackMrmcCsv(
  answers: readonly FeedbackRecord[],
  label: string,
  truthOf: (caseId: string) => 0 | 1 | undefined,
): CsvExport {
  const skipped = new Skips();
  const usable: FeedbackRecord[] = [];
  for (const answer of latestAnswers(answers.filter((a) => a.finding.labelId === label))) {
    if (answer.probability === undefined) skipped.add('answers without the AI probability');
    else if (truthOf(answer.sourceSopInstanceUid) === undefined)
      skipped.add('cases without a reference truth');
    else usable.push(answer);
  }
  const readers = [...new Set(usable.map((a) => a.userId))].sort();
  const cases = new Map<string, Map<string, FeedbackRecord>>();
  for (const answer of usable) {
    const byReader = cases.get(answer.sourceSopInstanceUid) ?? new Map<string, FeedbackRecord>();
    cases.set(answer.sourceSopInstanceUid, byReader);
    byReader.set(answer.userId, answer);
  }
  let csv = line(['reader', 'case', 'modality', 'truth', 'score', 'time_ms']);
  let rows = 0;
  for (const [caseId, byReader] of [...cases].sort(([a], [b]) => a.localeCompare(b))) {
    if (byReader.size < readers.length) {
      skipped.add('cases not answered by every reader', byReader.size);
      continue;
    }
    const truth = truthOf(caseId)!;
    for (const reader of readers) {
      const answer = byReader.get(reader)!;
      const call = readerCall(answer);
      csv += line([reader, caseId, 'ai', truth, answer.probability!, 0]);
      csv += line([reader, caseId, 'radiologist', truth, call ?? 0.5, answer.timeToAnswerMs]);
      rows += 2;
    }
  }
  if (rows === 0) {
    throw new RadiolensError(
      'E_BAD_INPUT',
      `no reader-study rows for label ${label}: ${
        skipped
          .list()
          .map((s) => `${s.count} ${s.reason}`)
          .join('; ') || 'no answers'
      } — record answers with the AI probability and give a reference truth for their cases`,
    );
  }
  return { csv, rows, skipped: skipped.list() };
}
