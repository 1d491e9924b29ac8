/**
 * The radiologists' answers on PostgreSQL (ADR 0188), with the embedded store's rules (ADR
 * 0171): one row per answer, never updated or deleted, listed in the order given. Every
 * ingest node of a cluster writes and reads the same table, so an answer given on one is on
 * every node's worklist, study context and export.
 */
import {
  feedbackFilterTerms,
  feedbackRecordOf,
  feedbackRowOf,
  type FeedbackAnswer,
  type FeedbackFilter,
  type FeedbackPort,
  type FeedbackRecord,
  type FeedbackRow,
} from '../feedback/index.js';
import { query, type PgPool } from './connection.js';

const COLUMNS = [
  'study_key',
  'sr_sop_instance_uid',
  'source_sop_instance_uid',
  'finding_code',
  'finding_scheme',
  'finding_meaning',
  'label_id',
  'model_id',
  'model_version',
  'ai_call',
  'probability',
  'answer',
  'correct_label',
  'comment',
  'time_to_answer_ms',
  'user_id',
  'answered_at',
] as const;

/** bigint columns come back as strings from node-postgres. */
type PgFeedbackRow = Omit<FeedbackRow, 'id' | 'answered_at'> & { id: string; answered_at: string };

const recordOf = (row: PgFeedbackRow): FeedbackRecord =>
  feedbackRecordOf({ ...row, id: Number(row.id), answered_at: Number(row.answered_at) });

export class PgFeedbackStore implements FeedbackPort {
  /** `pool` must be migrated (migrate()); the store does not own it. */
  constructor(private readonly pool: PgPool) {}

  async record(
    answer: FeedbackAnswer,
    userId: string,
    answeredAt = Date.now(),
  ): Promise<FeedbackRecord> {
    const row = feedbackRowOf(answer, userId, answeredAt);
    const result = await query<PgFeedbackRow>(
      this.pool,
      'storing an answer',
      `INSERT INTO feedback (${COLUMNS.join(', ')})
       VALUES (${COLUMNS.map((_, i) => `$${i + 1}`).join(', ')}) RETURNING *`,
      COLUMNS.map((column) => row[column]),
    );
    return recordOf(result.rows[0]!);
  }

  async list(filter: FeedbackFilter = {}): Promise<FeedbackRecord[]> {
    const terms = feedbackFilterTerms(filter);
    const where = terms.map(([column], i) => `${column} = $${i + 1}`);
    const values = terms.map(([, value]) => value);
    const result = await query<PgFeedbackRow>(
      this.pool,
      'listing answers',
      `SELECT * FROM feedback ${where.length === 0 ? '' : `WHERE ${where.join(' AND ')}`} ORDER BY id`,
      values,
    );
    return result.rows.map(recordOf);
  }

  async answered(): Promise<ReadonlySet<string>> {
    const result = await query<{ study_key: string; model_id: string }>(
      this.pool,
      'listing answered studies',
      'SELECT DISTINCT study_key, model_id FROM feedback',
    );
    return new Set(result.rows.map((row) => `${row.study_key}|${row.model_id}`));
  }
}
