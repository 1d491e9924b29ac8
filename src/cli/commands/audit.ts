/**
 * `radiolens audit verify [--data <dir>]`: check the node's hash-chained audit log (ADR 0089).
 * `radiolens audit study-key <StudyInstanceUID> [--data <dir>]`: the key under which the
 * log names that study (ADR 0176), to find who read it.
 */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { verifyAuditLog } from '../../foundation/audit/index.js';
import { RadiolensError } from '../../foundation/core/index.js';
import { StudyKeys } from '../../node/access/index.js';
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
    .addHelpText('after', '\nExit status: 0 intact, 1 not intact.')
    .action(async (opts: { data?: string }) => {
      const log = auditLogOf(opts.data);
      const result = await verifyAuditLog(log.path);
      if (result.ok) {
        process.stdout.write(
          `intact: ${result.entries} entr${result.entries === 1 ? 'y' : 'ies'} in ${log.path}\n`,
        );
        return;
      }
      process.stdout.write(
        `NOT INTACT: ${log.path} line ${result.line}: ${result.problem} (${result.entries} entr${result.entries === 1 ? 'y' : 'ies'} before it verify)\n`,
      );
      process.exitCode = 1;
    });
  audit
    .command('study-key <studyInstanceUid>')
    .description(
      'Print the key under which the audit log names a study (study:<key>): a keyed hash of its UID, computable only on this node',
    )
    .option('--data <dir>', "the node's data directory (default ./radiolens-data)")
    .action((uid: string, opts: { data?: string }) => {
      process.stdout.write(`study:${studyKeyOf(uid, opts.data)}\n`);
    });
};

/** The audit log's key for a study of the node in `dataDir`. */
export function studyKeyOf(studyInstanceUid: string, dataDir: string | undefined): string {
  if (!/^[0-9]+(\.[0-9]+)*$/.test(studyInstanceUid) || studyInstanceUid.length > 64) {
    throw new RadiolensError(
      'E_BAD_INPUT',
      `"${studyInstanceUid}" is not a DICOM UID (digits and dots)`,
    );
  }
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
