/**
 * Secrets every node of a cluster must share (ADR 0188): today the study-key secret, so that
 * the audit records, the worklist and the answers of every ingest node name a study by the
 * same key (ADR 0176). Made once by whichever process asks first; the others read it.
 */
import { randomBytes } from 'node:crypto';
import { query, type PgQueryable } from './connection.js';

/** The 32-byte secret named `name`, made (randomly) if no process has made it yet. */
export async function sharedSecret(db: PgQueryable, name: string): Promise<Buffer> {
  await query(
    db,
    `making the shared secret ${name}`,
    'INSERT INTO shared_secrets (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING',
    [name, randomBytes(32)],
  );
  const result = await query<{ value: Buffer }>(
    db,
    `reading the shared secret ${name}`,
    'SELECT value FROM shared_secrets WHERE name = $1',
    [name],
  );
  return result.rows[0]!.value;
}

/** The name of the study-key secret, in the node database as here. */
export const STUDY_KEY_SECRET = 'study-key';
