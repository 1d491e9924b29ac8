/**
 * `radiolens models promote <id>@<version> --test <dataset dir>@<version>` and
 * `radiolens models rollback <id>` (ADR 0035): the change-control gate and its way back.
 * The gate's report (JSON and HTML) is kept with the candidate version in the registry
 * (`<registry>/<id>/evidence/<version>/`), and every promotion, refusal and rollback is an
 * entry of the node's audit log (`<data>/audit/audit.jsonl`).
 */
import type { Command } from 'commander';
import { rm } from 'node:fs/promises';
import { join, relative, resolve } from 'node:path';
import { AuditLog, commandLineActor } from '../../foundation/audit/index.js';
import { RadiolensError, writeFileAtomic } from '../../foundation/core/index.js';
import { ModelRegistry, activeStatePath, readActiveState } from '../../inference/models/index.js';
import {
  renderPromotionHtml,
  runPromotionGate,
  type PromotionReport,
} from '../../lifecycle/pccp/index.js';
import { auditLogPath } from '../../node/access/index.js';
import { DEFAULTS } from '../../node/service/index.js';
import { modelRegistryLocation, parseModelRef } from '../modelRegistryLocation.js';

/** The node's audit log in a data directory (issue #13 builds the reading room's on it). */
export function auditLogOf(dataDir: string | undefined): AuditLog {
  return new AuditLog(auditLogPath(resolve(dataDir ?? DEFAULTS.dataDir)));
}

/** `<dir>@<version>`, split at the last '@' (a folder may contain '@', a version does not). */
export function parseDatasetRef(text: string): { dir: string; version: string } {
  const at = text.lastIndexOf('@');
  if (at <= 0 || at === text.length - 1) {
    throw new RadiolensError(
      'E_BAD_INPUT',
      `--test ${text}: write the locked test dataset as <dataset dir>@<version>, the version "radiolens dataset create" printed`,
    );
  }
  return { dir: resolve(text.slice(0, at)), version: text.slice(at + 1) };
}

function stamp(date: Date): string {
  return date
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z');
}

function formatReport(report: PromotionReport, evidence: string): string {
  const lines: string[] = [];
  const c = `${report.candidate.id}@${report.candidate.version}`;
  const a = `${report.active.id}@${report.active.version}`;
  if (report.decision === 'accept') {
    lines.push(
      `PROMOTED: ${c} is now the active version (was ${a}); every criterion of ${(report.plan?.id ?? '?').split(' (')[0]} holds.`,
    );
  } else {
    lines.push(
      `REFUSED: ${c} does not replace ${a}. ${report.failed.length} criterion/criteria failed:`,
    );
    for (const k of report.failed) {
      lines.push(
        `  ✗ ${k.id}${k.label ? ` (${k.label})` : ''}: required ${k.requirement}; found ${k.found}`,
      );
    }
  }
  const others = report.criteria.filter((k) => k.status !== 'fail');
  if (others.length > 0) {
    lines.push('other criteria:');
    for (const k of others) {
      lines.push(
        `  ${k.status === 'pass' ? '✓' : '·'} ${k.id}${k.label ? ` (${k.label})` : ''}: ${k.found}${k.status === 'not assessable' ? ' (not assessable)' : ''}`,
      );
    }
  }
  lines.push(`evidence: ${evidence}.json and .html`);
  return `${lines.join('\n')}\n`;
}

export function registerPromotionCommands(models: Command): void {
  models
    .command('promote')
    .description(
      "Run the active version's change-control plan (PCCP) on a candidate version: the kinds of " +
        'modification it allows and its acceptance protocol on the locked test dataset, against ' +
        'the active version. Makes the candidate active when every criterion holds; otherwise ' +
        'refuses with each failed criterion and its numbers.',
    )
    .argument('<model>', '<id>@<version> of the candidate')
    .requiredOption(
      '--test <dir@version>',
      'the locked test dataset: its folder and the version "radiolens dataset create" printed; its labels are the truth',
    )
    .option(
      '--data <dir>',
      `the node's data directory, whose audit log records the decision (default ./${DEFAULTS.dataDir})`,
    )
    .option(
      '--registry <dir>',
      'model registry folder (default: $RADIOLENS_MODELS or the shipped models/)',
    )
    .option('--json', 'print the report as JSON')
    .addHelpText(
      'after',
      '\nThe report (JSON and HTML) is kept in <registry>/<id>/evidence/<version>/. Routing and ' +
        '`analyze` run the active version from then on; `radiolens models rollback <id>` returns ' +
        'to the one before.\nExit status: 0 promoted, 1 refused, 2 on a usage error.',
    )
    .action(
      async (
        ref: string,
        opts: { test: string; data?: string; registry?: string; json?: boolean },
      ) => {
        const { id, version } = parseModelRef(ref);
        if (version === undefined) {
          throw new RadiolensError(
            'E_BAD_INPUT',
            `${ref}: name the candidate with its version, <id>@<version>`,
          );
        }
        const test = parseDatasetRef(opts.test);
        const root = modelRegistryLocation(opts.registry);
        const registry = new ModelRegistry(root);
        const audit = auditLogOf(opts.data);
        const report = await runPromotionGate({
          registry,
          candidate: { id, version },
          test,
          onProgress: (step) => {
            if (process.stderr.isTTY) process.stderr.write(`${step}…\n`);
          },
        });
        const now = new Date(report.generatedAt);
        const evidence = join(
          root,
          id,
          'evidence',
          version,
          `promotion-${stamp(now)}-${report.decision === 'accept' ? 'accepted' : 'refused'}`,
        );
        await writeFileAtomic(`${evidence}.json`, `${JSON.stringify(report, null, 2)}\n`);
        await writeFileAtomic(`${evidence}.html`, renderPromotionHtml(report));
        const actor = commandLineActor();
        const details = {
          from: report.active.version,
          plan: report.plan?.id ?? null,
          testDataset: test.version,
          failed: report.failed.map((k) => ({ criterion: k.id, label: k.label, found: k.found })),
          evidence: relative(root, `${evidence}.json`),
          candidateManifestSha256: report.candidate.manifestSha256,
        };
        if (report.decision === 'accept') {
          const before = await readActiveState(root, id);
          await registry.activate(id, version, {
            at: report.generatedAt,
            actor,
            evidence: relative(join(root, id), `${evidence}.json`),
          });
          try {
            await audit.append(
              { actor, action: 'model.promote', subject: `${id}@${version}`, details },
              now,
            );
          } catch (error) {
            // No promotion without its audit record: put the previous state back.
            if (before === null) await rm(activeStatePath(root, id), { force: true });
            else
              await writeFileAtomic(
                activeStatePath(root, id),
                `${JSON.stringify(before, null, 2)}\n`,
              );
            throw error;
          }
        } else {
          await audit.append(
            { actor, action: 'model.promote-refused', subject: `${id}@${version}`, details },
            now,
          );
        }
        process.stdout.write(
          opts.json ? `${JSON.stringify(report, null, 2)}\n` : formatReport(report, evidence),
        );
        process.exitCode = report.decision === 'accept' ? 0 : 1;
      },
    );

  models
    .command('rollback')
    .description(
      'Return a model to the version that was active before the current one (an audited action)',
    )
    .argument('<id>', 'model id')
    .option(
      '--data <dir>',
      `the node's data directory, whose audit log records the rollback (default ./${DEFAULTS.dataDir})`,
    )
    .option('--registry <dir>', 'model registry folder')
    .action(async (id: string, opts: { data?: string; registry?: string }) => {
      const root = modelRegistryLocation(opts.registry);
      const registry = new ModelRegistry(root);
      const from = (await registry.activeVersion(id)).version;
      const actor = commandLineActor();
      const now = new Date();
      const before = await readActiveState(root, id);
      const state = await registry.rollback(id, { at: now.toISOString(), actor });
      const to = state.stack[state.stack.length - 1]!;
      try {
        await auditLogOf(opts.data).append(
          { actor, action: 'model.rollback', subject: `${id}@${to}`, details: { from, to } },
          now,
        );
      } catch (error) {
        // No rollback without its audit record either.
        await writeFileAtomic(activeStatePath(root, id), `${JSON.stringify(before, null, 2)}\n`);
        throw error;
      }
      process.stdout.write(`ROLLED BACK: ${id}@${to} is the active version again (was ${from}).\n`);
    });
}
