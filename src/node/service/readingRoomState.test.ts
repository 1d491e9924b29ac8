// The reading room's port contracts (also run against PostgreSQL in
// src/node/postgres/readingRoom.int.test.ts) on the embedded stores: a fresh node database
// and audit file per test.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AuditLog, fileAuditChain } from '../../foundation/audit/index.js';
import {
  SessionStore,
  UserStore,
  auditLogPath,
  sqliteSessionPort,
  sqliteUserPort,
} from '../access/index.js';
import { FeedbackStore, sqliteFeedbackPort } from '../feedback/index.js';
import { openNodeDatabase } from '../store/index.js';
import { CHEAP_SCRYPT, readingRoomContract } from '../../../test/support/readingRoomContracts.js';

readingRoomContract('SQLite', async (limits, body) => {
  const dir = await mkdtemp(join(tmpdir(), 'radiolens-room-'));
  const db = openNodeDatabase(dir);
  try {
    await body({
      users: sqliteUserPort(new UserStore(db, CHEAP_SCRYPT)),
      sessions: sqliteSessionPort(new SessionStore(db, limits)),
      feedback: sqliteFeedbackPort(new FeedbackStore(db)),
      audit: fileAuditChain(new AuditLog(auditLogPath(dir))),
    });
  } finally {
    db.close();
    await rm(dir, { recursive: true, force: true });
  }
});
