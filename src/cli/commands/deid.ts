/**
 * `radiolens deid <in> <out> [--option …]`: de-identify files or folders per PS3.15 Annex E,
 * with a progress bar and a report of what was done (counts per action), what was
 * quarantined and why, and which files failed.
 */
import type { Command } from 'commander';
import cliProgress from 'cli-progress';
import { writeFileAtomic } from '../../foundation/core/index.js';
import {
  deidentifyFiles,
  folderSink,
  listInputFiles,
  OPTION_FLAGS,
  prepareDeidentification,
  TABLE_E1_1_EDITION,
  type DeidBatchReport,
} from '../../lifecycle/deid/index.js';
import type { CommandModule } from './index.js';

export interface DeidCommandFlags extends DeidSettingFlags {
  readonly report?: string;
  readonly progress: boolean;
}

/** The report a person reads; source paths stay local (they are not in the output). */
export function formatDeidReport(report: DeidBatchReport, seconds: number): string {
  const lines = [
    `de-identified ${report.instances.length}, quarantined ${report.quarantined.length}, failed ${report.errors.length} ` +
      `(${seconds.toFixed(1)} s, PS3.15 Table E.1-1 ${TABLE_E1_1_EDITION.split(' ')[0]})`,
    'actions applied:',
    ...Object.entries(report.counts)
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([action, n]) => `  ${action.padEnd(32)} ${n}`),
  ];
  if (report.quarantined.length > 0) {
    lines.push('quarantined (not written):');
    for (const q of report.quarantined) lines.push(`  ${q.file}: ${q.reason}`);
  }
  if (report.errors.length > 0) {
    lines.push('failed (not written):');
    for (const e of report.errors) lines.push(`  ${e.file}: ${e.message}`);
  }
  return `${lines.join('\n')}\n`;
}

/** Progress on stderr when it is a terminal; nothing otherwise (logs stay clean). */
export function progressReporter(enabled: boolean): {
  update: (done: number, total: number) => void;
  stop: () => void;
} {
  if (!enabled || !process.stderr.isTTY) return { update: () => undefined, stop: () => undefined };
  const bar = new cliProgress.SingleBar(
    { stream: process.stderr, format: 'de-identifying [{bar}] {value}/{total} files' },
    cliProgress.Presets.shades_classic,
  );
  let started = false;
  return {
    update: (done, total) => {
      if (!started) {
        bar.start(total, 0);
        started = true;
      }
      bar.update(done);
    },
    stop: () => {
      if (started) bar.stop();
    },
  };
}

/** The de-identification settings shared by `deid` and `dataset create`. */
export interface DeidSettingFlags {
  readonly option: string[];
  readonly secret?: string;
  readonly map?: string;
  readonly pixelRules?: string;
}

/** Add the profile options, secret, map and pixel-rule flags to a command. */
export function withDeidentificationOptions(command: Command, pixelRulesHelp: string): Command {
  return command
    .option(
      '--option <name>',
      `profile option, repeatable: ${Object.keys(OPTION_FLAGS).join(', ')}`,
      (value: string, previous: string[]) => [...previous, value],
      [] as string[],
    )
    .option('--secret <file>', 'installation secret (default $RADIOLENS_HOME/deid/secret.key)')
    .option('--map <dir>', 're-identification map, kept apart (default $RADIOLENS_HOME/reid)')
    .option('--pixel-rules <file>', pixelRulesHelp);
}

/** Load the secret, open the re-identification map and parse the options from the flags. */
export function prepareFromFlags(
  flags: DeidSettingFlags,
  outDir: string,
): ReturnType<typeof prepareDeidentification> {
  return prepareDeidentification({
    options: flags.option,
    outDir,
    ...(flags.secret === undefined ? {} : { secret: flags.secret }),
    ...(flags.map === undefined ? {} : { mapDir: flags.map }),
    ...(flags.pixelRules === undefined ? {} : { pixelRules: flags.pixelRules }),
  });
}

export const deidCommand: CommandModule = (program: Command) => {
  const command = program
    .command('deid')
    .description(
      'De-identify DICOM files per PS3.15 Annex E (Basic Application Level Confidentiality ' +
        'Profile). Images likely to carry burned-in text are quarantined, never passed on.',
    )
    .argument('<in>', 'a DICOM file or a folder (searched recursively)')
    .argument('<out>', 'output folder: <study>/<series>/<instance>.dcm with new UIDs');
  withDeidentificationOptions(command, 'Clean Pixel Data region rules (JSON) for clean-pixel-data')
    .option('--report <file>', 'also write the report as JSON')
    .option('--no-progress', 'no progress bar')
    .action(async (input: string, out: string, flags: DeidCommandFlags) => {
      const started = performance.now();
      const { config, map } = await prepareFromFlags(flags, out);
      const files = await listInputFiles(input);
      const progress = progressReporter(flags.progress);
      const report = await deidentifyFiles(files, config, {
        sink: folderSink(out),
        map,
        root: input,
        onProgress: (done, total) => progress.update(done, total),
      });
      progress.stop();
      process.stdout.write(formatDeidReport(report, (performance.now() - started) / 1000));
      if (flags.report !== undefined) {
        const { instances, ...rest } = report;
        const json = {
          ...rest,
          instances: instances.map(({ originalSopInstanceUid: _o, ...i }) => i),
        };
        await writeFileAtomic(flags.report, `${JSON.stringify(json, null, 2)}\n`);
      }
      if (report.errors.length > 0) process.exitCode = 1;
    });
};
