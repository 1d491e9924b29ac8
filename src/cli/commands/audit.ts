/** `radiolens audit verify [--data <dir>]`: check the node's hash-chained audit log (ADR 0089). */
import type { Command } from 'commander';
import { verifyAuditLog } from '../../foundation/audit/index.js';
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
};
