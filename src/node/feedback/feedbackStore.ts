/**
 * The radiologist's answers to the AI's findings (issue #13 Deliver 4; ADR 0171), kept in
 * the node database beside the instance index so that an answer is as durable as the study
 * it is about: one row per answer, never updated or deleted (a changed mind is a new answer,
 * and the export takes the latest per reader).
 */
import { RadiolensError } from '../../foundation/core/index.js';
import type { NodeDatabase } from '../store/index.js';
import type { FeedbackAnswer } from './feedbackSchema.js';

/** An answer as stored: what the client sent plus who answered and when. */
export interface FeedbackRecord extends FeedbackAnswer {
  readonly id: number;
  /** The token identity, or 'anonymous-local' until login exists (issue #13 Deliver 6). */
  readonly userId: string;
  /** Milliseconds since the epoch, set by the node. */
  readonly answeredAt: number;
}

export const ANONYMOUS_LOCAL_USER = 'anonymous-local';

/** An answer as a row, in the column names both stores use (SQLite and PostgreSQL). */
export interface FeedbackRow {
  id: number;
  study_key: string;
  sr_sop_instance_uid: string;
  source_sop_instance_uid: string;
  finding_code: string;
  finding_scheme: string;
  finding_meaning: string;
  label_id: string;
  model_id: string;
  model_version: string;
  ai_call: string;
  probability: number | null;
  answer: string;
  correct_label: string | null;
  comment: string | null;
  time_to_answer_ms: number;
  user_id: string;
  answered_at: number;
}

export function ensureFeedbackSchema(db: NodeDatabase): void {
  db.exec(`
    CREATE TABLE IF NOT EXISTS feedback (
      id INTEGER PRIMARY KEY,
      study_key TEXT NOT NULL,
      sr_sop_instance_uid TEXT NOT NULL,
      source_sop_instance_uid TEXT NOT NULL,
      finding_code TEXT NOT NULL,
      finding_scheme TEXT NOT NULL,
      finding_meaning TEXT NOT NULL,
      label_id TEXT NOT NULL,
      model_id TEXT NOT NULL,
      model_version TEXT NOT NULL,
      ai_call TEXT NOT NULL CHECK (ai_call IN ('positive', 'negative')),
      probability REAL,
      answer TEXT NOT NULL CHECK (answer IN ('agree', 'disagree', 'uncertain')),
      correct_label TEXT,
      comment TEXT,
      time_to_answer_ms INTEGER NOT NULL,
      user_id TEXT NOT NULL,
      answered_at INTEGER NOT NULL
    );
    CREATE INDEX IF NOT EXISTS feedback_study ON feedback (study_key);
    CREATE INDEX IF NOT EXISTS feedback_model ON feedback (model_id, model_version);
  `);
}

export function feedbackRecordOf(row: FeedbackRow): FeedbackRecord {
  return {
    id: row.id,
    studyKey: row.study_key,
    srSopInstanceUid: row.sr_sop_instance_uid,
    sourceSopInstanceUid: row.source_sop_instance_uid,
    finding: {
      code: row.finding_code,
      scheme: row.finding_scheme,
      meaning: row.finding_meaning,
      labelId: row.label_id,
    },
    model: { id: row.model_id, version: row.model_version },
    aiCall: row.ai_call as FeedbackRecord['aiCall'],
    ...(row.probability === null ? {} : { probability: row.probability }),
    answer: row.answer as FeedbackRecord['answer'],
    ...(row.correct_label === null ? {} : { correctLabel: row.correct_label }),
    ...(row.comment === null ? {} : { comment: row.comment }),
    timeToAnswerMs: row.time_to_answer_ms,
    userId: row.user_id,
    answeredAt: row.answered_at,
  };
}

export interface FeedbackFilter {
  readonly studyKey?: string;
  readonly modelId?: string;
  readonly modelVersion?: string;
  readonly labelId?: string;
}

/** The filter's conditions as column = value pairs (both stores write them in their SQL). */
export function feedbackFilterTerms(filter: FeedbackFilter): [column: string, value: string][] {
  const terms: [string, string][] = [];
  for (const [column, value] of [
    ['study_key', filter.studyKey],
    ['model_id', filter.modelId],
    ['model_version', filter.modelVersion],
    ['label_id', filter.labelId],
  ] as const) {
    if (value !== undefined) terms.push([column, value]);
  }
  return terms;
}

/** The row of an answer, as both stores write it. */
export function feedbackRowOf(
  answer: FeedbackAnswer,
  userId: string,
  answeredAt: number,
): Omit<FeedbackRow, 'id'> {
  return {
    study_key: answer.studyKey,
    sr_sop_instance_uid: answer.srSopInstanceUid,
    source_sop_instance_uid: answer.sourceSopInstanceUid,
    finding_code: answer.finding.code,
    finding_scheme: answer.finding.scheme,
    finding_meaning: answer.finding.meaning,
    label_id: answer.finding.labelId,
    model_id: answer.model.id,
    model_version: answer.model.version,
    ai_call: answer.aiCall,
    probability: answer.probability ?? null,
    answer: answer.answer,
    correct_label: answer.correctLabel ?? null,
    comment: answer.comment ?? null,
    time_to_answer_ms: answer.timeToAnswerMs,
    user_id: userId,
    answered_at: answeredAt,
  };
}

export class FeedbackStore {
  private readonly insert;

  constructor(readonly db: NodeDatabase) {
    ensureFeedbackSchema(db);
    this.insert = db.prepare(
      `INSERT INTO feedback (study_key, sr_sop_instance_uid, source_sop_instance_uid,
         finding_code, finding_scheme, finding_meaning, label_id, model_id, model_version,
         ai_call, probability, answer, correct_label, comment, time_to_answer_ms, user_id,
         answered_at)
       VALUES (@study_key, @sr_sop_instance_uid, @source_sop_instance_uid, @finding_code,
         @finding_scheme, @finding_meaning, @label_id, @model_id, @model_version, @ai_call,
         @probability, @answer, @correct_label, @comment, @time_to_answer_ms, @user_id,
         @answered_at)`,
    );
  }

  /** Stores one answer durably (the database is synchronous=FULL) and returns it. */
  record(answer: FeedbackAnswer, userId: string, answeredAt = Date.now()): FeedbackRecord {
    const row = feedbackRowOf(answer, userId, answeredAt);
    try {
      const result = this.insert.run(row);
      return feedbackRecordOf({ ...row, id: Number(result.lastInsertRowid) });
    } catch (cause) {
      throw new RadiolensError(
        'E_STORE',
        `cannot store the answer: ${(cause as Error).message} — check the node database`,
        { cause },
      );
    }
  }

  /** `<studyKey>|<model id>` of every study and model with an answer. */
  answered(): Set<string> {
    const rows = this.db.prepare('SELECT DISTINCT study_key, model_id FROM feedback').all() as {
      study_key: string;
      model_id: string;
    }[];
    return new Set(rows.map((row) => `${row.study_key}|${row.model_id}`));
  }

  /** Answers in the order they were given, optionally filtered. */
  list(filter: FeedbackFilter = {}): FeedbackRecord[] {
    const terms = feedbackFilterTerms(filter);
    const where = terms.map(([column]) => `${column} = ?`);
    const parameters = terms.map(([, value]) => value);
    const rows = this.db
      .prepare(
        `SELECT * FROM feedback ${where.length === 0 ? '' : `WHERE ${where.join(' AND ')}`} ORDER BY id`,
      )
      .all(...parameters) as FeedbackRow[];
    return rows.map(feedbackRecordOf);
  }
}
