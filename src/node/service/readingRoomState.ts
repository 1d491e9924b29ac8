/**
 * Where the reading room keeps what a radiologist's work leaves behind (ADR 0188): users,
 * sessions, answers, the audit chain and the study-key secret. The embedded node keeps them
 * in its data directory (the node database and `audit/audit.jsonl`); on a shared database
 * (`serve --database`) they live in PostgreSQL, so that two ingest nodes behind one load
 * balancer have one login, one set of answers and one audit trail. The login throttle goes
 * with them (ADR 0194): in this process's memory for the embedded node, in PostgreSQL for a
 * cluster, so that N nodes do not give a guesser N times the attempts. The routes, the HTTP
 * listener and the command line take the ports and never ask which.
 */
import { AuditLog, fileAuditChain } from '../../foundation/audit/index.js';
import {
  AuditTrail,
  SessionStore,
  StudyKeys,
  UserStore,
  auditLogPath,
  memoryLoginThrottle,
  sqliteSessionPort,
  sqliteUserPort,
  type LoginThrottlePort,
  type SessionPort,
  type UserPort,
} from '../access/index.js';
import { FeedbackStore, sqliteFeedbackPort, type FeedbackPort } from '../feedback/index.js';
import {
  PgAuditChain,
  PgFeedbackStore,
  PgLoginThrottle,
  PgSessionStore,
  PgUserStore,
  STUDY_KEY_SECRET,
  sharedSecret,
  type PgPool,
} from '../postgres/index.js';
import type { NodeDatabase } from '../store/index.js';

export interface ReadingRoomState {
  readonly users: UserPort;
  readonly sessions: SessionPort;
  readonly feedback: FeedbackPort;
  /** The audit chain and the study keys it names studies by. */
  readonly audit: AuditTrail;
  /** Failed logins per client address and per user name (ADRs 0175, 0194). */
  readonly loginThrottle: LoginThrottlePort;
}

/** In the node's data directory: its database and its audit file (ADRs 0171, 0174–0176). */
export function embeddedReadingRoom(db: NodeDatabase, dataDir: string): ReadingRoomState {
  return {
    users: sqliteUserPort(new UserStore(db)),
    sessions: sqliteSessionPort(new SessionStore(db)),
    feedback: sqliteFeedbackPort(new FeedbackStore(db)),
    audit: new AuditTrail(fileAuditChain(new AuditLog(auditLogPath(dataDir))), new StudyKeys(db)),
    loginThrottle: memoryLoginThrottle(),
  };
}

/** In the shared PostgreSQL database (migrated), for every node and command on it. */
export async function sharedReadingRoom(
  pool: PgPool,
  databaseUrl: string,
): Promise<ReadingRoomState> {
  return {
    users: new PgUserStore(pool),
    sessions: new PgSessionStore(pool),
    feedback: new PgFeedbackStore(pool),
    audit: new AuditTrail(
      new PgAuditChain(pool, databaseUrl),
      new StudyKeys({ secret: await sharedSecret(pool, STUDY_KEY_SECRET) }),
    ),
    loginThrottle: await PgLoginThrottle.open(pool),
  };
}
