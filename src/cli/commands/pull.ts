import type { Command } from 'commander';
import { join, resolve } from 'node:path';
import { formatRunReport } from '../../inference/analysis/index.js';
import { RadiolensError, isValidUid } from '../../foundation/core/index.js';
import { assertAeTitle } from '../../foundation/dimse/index.js';
import {
  DEFAULT_CALLING_AE_TITLE,
  parsePullSource,
  pullSourceLabel,
  pullStudies,
  type PullEvent,
  type StudyQuery,
} from '../../node/pull/index.js';
import { InstanceStore } from '../../node/store/index.js';
import {
  analyzeForCli,
  checkModelForCli,
  runSucceeded,
  runSummaryJson,
  withModelChoiceOptions,
} from '../analysisRun.js';
import type { CommandModule } from './index.js';

interface PullCliOptions {
  from: string;
  study?: string;
  accession?: string;
  callingAe: string;
  model?: string;
  registry?: string;
  out: string;
  data?: string;
  json?: boolean;
}

export const pullCommand: CommandModule = (program: Command) => {
  withModelChoiceOptions(
    program
      .command('pull')
      .description(
        'Retrieve a study from a PACS (DIMSE C-FIND + C-GET, or DICOMweb QIDO-RS + WADO-RS), keep ' +
          'its original bytes, and analyse it like `analyze`: SR, Secondary Captures and a FHIR ' +
          'bundle per study in --out/results.',
      )
      .requiredOption(
        '--from <url>',
        'the PACS: dicom://AET@host:port (C-FIND + C-GET) or dicomweb+http(s)://host:port/path (QIDO-RS + WADO-RS)',
      )
      .option('--study <uid>', 'Study Instance UID to pull')
      .option('--accession <number>', 'Accession Number to pull (every study carrying it)')
      .option(
        '--calling-ae <aet>',
        'our AE title towards a DIMSE PACS (it must know it, with C-FIND and C-GET allowed)',
        DEFAULT_CALLING_AE_TITLE,
      ),
  )
    .requiredOption(
      '-o, --out <dir>',
      'output folder: retrieved files in dicom/<StudyInstanceUID>/ (unless --data), analysis in results/<StudyInstanceUID>/',
    )
    .option(
      '--data <dir>',
      "keep the retrieved instances in this node data dir's instance store instead of --out/dicom",
    )
    .option('--json', 'print the run summary as JSON instead of text')
    .addHelpText(
      'after',
      '\nExactly one of --study and --accession. Instances are committed only when the whole ' +
        'study arrived; a peer that is down, refuses, drops the connection or fails an ' +
        'instance leaves nothing behind.\n' +
        'Exit status: 0 when every image was analysed, 1 when some image was skipped or not ' +
        'analysed, 2 on a usage or configuration error or when the study could not be retrieved.',
    )
    .action(async (opts: PullCliOptions) => {
      const query = studyQueryFrom(opts);
      const source = parsePullSource(opts.from);
      assertAeTitle(opts.callingAe, '--calling-ae');
      const out = resolve(opts.out);
      await checkModelForCli(opts);
      const log = (line: string): void => {
        process.stderr.write(`${line}\n`);
      };
      const store = opts.data === undefined ? null : InstanceStore.open(resolve(opts.data));
      try {
        const pulled = await pullStudies({
          source,
          query,
          destination:
            store === null ? { kind: 'folder', dir: join(out, 'dicom') } : { kind: 'store', store },
          workDir: store === null ? out : store.dataDir,
          callingAeTitle: opts.callingAe,
          onEvent: (event) => log(describeEvent(event, pullSourceLabel(source))),
        });
        const files = pulled.flatMap((study) => study.files);
        const run = await analyzeForCli(files, {
          outDir: join(out, 'results'),
          model: opts.model,
          registry: opts.registry,
        });
        process.stdout.write(
          opts.json
            ? `${JSON.stringify({ pulled: pulled.map((p) => ({ studyInstanceUid: p.studyInstanceUid, files: p.files })), ...runSummaryJson(run) }, null, 2)}\n`
            : formatRunReport(run),
        );
        process.exitCode = runSucceeded(run) ? 0 : 1;
      } finally {
        store?.close();
      }
    });
};

function studyQueryFrom(opts: PullCliOptions): StudyQuery {
  if ((opts.study === undefined) === (opts.accession === undefined)) {
    throw new RadiolensError(
      'E_BAD_INPUT',
      'give exactly one of --study <uid> and --accession <number>',
    );
  }
  if (opts.study !== undefined) {
    if (!isValidUid(opts.study)) {
      throw new RadiolensError(
        'E_BAD_INPUT',
        '--study is not a valid UID: digits and dots, at most 64 characters (e.g. 1.2.840.113619.2.55.3)',
      );
    }
    return { studyInstanceUid: opts.study };
  }
  const accession = (opts.accession ?? '').trim();
  // SH (PS3.5 6.2): at most 16 characters; wildcards would turn the pull into a search.
  if (accession === '' || accession.length > 16 || /[*?\\]/.test(accession)) {
    throw new RadiolensError(
      'E_BAD_INPUT',
      '--accession must be 1–16 characters without the wildcards * and ? or a backslash',
    );
  }
  return { accessionNumber: accession };
}

function describeEvent(event: PullEvent, label: string): string {
  switch (event.type) {
    case 'found':
      return `pull: ${event.studies} study(ies) found on ${label}`;
    case 'retrieved':
      return `pull: study ${event.study}: ${event.instances} instance(s) retrieved in ${event.ms} ms`;
    case 'committed':
      return `pull: study ${event.study}: ${event.instances} instance(s) kept`;
  }
}
