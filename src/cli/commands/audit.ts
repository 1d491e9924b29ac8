/**
 * `radiolens audit verify [--data <dir> | --database <url>]`: check the node's hash-chained
 * audit log (ADR 0089), or the cluster's chain in PostgreSQL (ADR 0188).
 * `radiolens audit study-key <StudyInstanceUID> [--data <dir> | --database <url>]`: the key
 * under which the log names that study (ADR 0176), to find who read it.
 */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { fileAuditChain, type AuditChain } from '../../foundation/audit/index.js';
import { RadiolensError } from '../../foundation/core/index.js';
import { StudyKeys } from '../../node/access/index.js';
import { PgAuditChain, STUDY_KEY_SECRET, sharedSecret } from '../../node/postgres/index.js';
import {
  DATABASE_OPTION,
  databaseUrlOf,
  withSharedDatabase,
  type StoreOptions,
} from '../readingRoomStore.js';
import { DEFAULTS } from '../../node/service/index.js';
import { DATABASE_FILE_NAME, openNodeDatabase } from '../../node/store/index.js';
import { auditLogOf } from './promote.js';
import type { CommandModule } from './index.js';

export const auditCommand: CommandModule = (program: Command) => {
  const audit = program
    .command('audit')
    .description("The node's append-only, hash-chained audit log");
  audit
    .command('verify')
    .description(
      'Check the chain of the audit log and name the first edited, removed or reordered entry',
    )
    .option('--data <dir>', "the node's data directory (default ./radiolens-data)")
    .option(...DATABASE_OPTION)
    .addHelpText('after', '\nExit status: 0 intact, 1 not intact.')
    .action(async (opts: StoreOptions) => {
      const report = await verifyAudit(opts);
      process.stdout.write(`${report.text}\n`);
      if (!report.ok) process.exitCode = 1;
    });
  audit
    .command('study-key <studyInstanceUid>')
    .description(
      'Print the key under which the audit log names a study (study:<key>): a keyed hash of its UID, computable only on this node',
    )
    .option('--data <dir>', "the node's data directory (default ./radiolens-data)")
    .option(...DATABASE_OPTION)
    .action(async (uid: string, opts: StoreOptions) => {
      const url = databaseUrlOf(opts);
      const key =
        url === undefined
          ? studyKeyOf(uid, opts.data)
          : await withSharedDatabase(url, async (pool) => {
              checkUid(uid);
              const secret = await sharedSecret(pool, STUDY_KEY_SECRET);
              return new StudyKeys({ secret }).of(uid);
            });
      process.stdout.write(`study:${key}\n`);
    });
};

/** Verifies the chain `opts` names; `text` is the one line the command prints. */
export async function verifyAudit(opts: StoreOptions): Promise<{ ok: boolean; text: string }> {
  const url = databaseUrlOf(opts);
  const check = async (chain: AuditChain): Promise<{ ok: boolean; text: string }> => {
    const result = await chain.verify();
    const n = (count: number): string => `${count} entr${count === 1 ? 'y' : 'ies'}`;
    if (result.ok) return { ok: true, text: `intact: ${n(result.entries)} in ${chain.location}` };
    const where = url === undefined ? 'line' : 'entry';
    return {
      ok: false,
      text: `NOT INTACT: ${chain.location} ${where} ${result.line}: ${result.problem} (${n(result.entries)} before it verify)`,
    };
  };
  if (url === undefined) return check(fileAuditChain(auditLogOf(opts.data)));
  return withSharedDatabase(url, (pool) => check(new PgAuditChain(pool, url)));
}

function checkUid(studyInstanceUid: string): void {
  if (!/^[0-9]+(\.[0-9]+)*$/.test(studyInstanceUid) || studyInstanceUid.length > 64) {
    throw new RadiolensError(
      'E_BAD_INPUT',
      `"${studyInstanceUid}" is not a DICOM UID (digits and dots)`,
    );
  }
}

/** The audit log's key for a study of the node in `dataDir`. */
export function studyKeyOf(studyInstanceUid: string, dataDir: string | undefined): string {
  checkUid(studyInstanceUid);
  const dir = resolve(dataDir ?? DEFAULTS.dataDir);
  if (!existsSync(join(dir, DATABASE_FILE_NAME))) {
    throw new RadiolensError(
      'E_BAD_INPUT',
      `${dir} has no node database — give the --data directory of radiolens serve`,
    );
  }
  const db = openNodeDatabase(dir);
  try {
    return new StudyKeys(db).of(studyInstanceUid);
  } finally {
    db.close();
  }
}
