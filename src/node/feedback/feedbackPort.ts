/**
 * The radiologists' answers as an asynchronous port (ADR 0188): an answer given on one ingest
 * node is listed, shown and exported on every node of a cluster. The embedded store
 * (feedbackStore.ts, SQLite, synchronous) is wrapped by sqliteFeedbackPort; the PostgreSQL
 * store (node/postgres) implements it directly.
 */
import type { FeedbackAnswer } from './feedbackSchema.js';
import type { FeedbackFilter, FeedbackRecord, FeedbackStore } from './feedbackStore.js';

export interface FeedbackPort {
  /** Stores one answer durably and returns it with its id. */
  record(answer: FeedbackAnswer, userId: string, answeredAt?: number): Promise<FeedbackRecord>;
  /** Answers in the order they were given, optionally filtered. */
  list(filter?: FeedbackFilter): Promise<FeedbackRecord[]>;
  /** `<studyKey>|<model id>` of every study and model with an answer (the worklist's status). */
  answered(): Promise<ReadonlySet<string>>;
}

export function sqliteFeedbackPort(store: FeedbackStore): FeedbackPort {
  return {
    record: async (answer, userId, answeredAt) => store.record(answer, userId, answeredAt),
    list: async (filter) => store.list(filter),
    answered: async () => store.answered(),
  };
}
