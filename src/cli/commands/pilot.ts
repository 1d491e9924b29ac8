/**
 * `radiolens pilot report --data <dir> --labels <csv> --out <dir>`: the live performance of a
 * model run in shadow mode, against the radiologists' final answers (ADR 0088).
 */
import type { Command } from 'commander';
import { resolve, join } from 'node:path';
import { RadiolensError, writeFileAtomic } from '../../foundation/core/index.js';
import { ModelRegistry } from '../../inference/models/index.js';
import {
  buildPilotReport,
  readRadiologistAnswers,
  renderPilotHtml,
  type PilotStudy,
} from '../../lifecycle/monitoring/index.js';
import { readAnalysisLog } from '../../node/service/index.js';
import { modelRegistryLocation, parseModelRef } from '../modelRegistryLocation.js';
import { nodeAnalyses } from '../monitoringSources.js';
import type { CommandModule } from './index.js';

export const pilotCommand: CommandModule = (program: Command) => {
  const pilot = program
    .command('pilot')
    .description(
      'The prospective pilot: models run in shadow mode (results kept in the node, never delivered)',
    );
  pilot
    .command('report')
    .description(
      "Sensitivity, specificity and AUC with confidence intervals of a shadow model against the radiologists' " +
        'final answers, overall, per period and per subgroup; writes report.html (with plots) and report.json.',
    )
    .requiredOption('--data <dir>', "the node's data directory")
    .requiredOption(
      '--labels <csv>',
      "the radiologists' answers: study_instance_uid or accession_number, one 0/1 column per label (empty: not answered), other columns as subgroups",
    )
    .requiredOption('-o, --out <dir>', 'folder for report.html and report.json')
    .option('-m, --model <id@version>', 'the shadow model (needed when the node ran more than one)')
    .option('--period <week|month>', 'the periods of the time series', 'month')
    .option('--registry <dir>', 'model registry folder')
    .action(
      async (opts: {
        data: string;
        labels: string;
        out: string;
        model?: string;
        period: string;
        registry?: string;
      }) => {
        if (opts.period !== 'week' && opts.period !== 'month') {
          throw new RadiolensError('E_BAD_INPUT', `--period ${opts.period}: write week or month`);
        }
        const dataDir = resolve(opts.data);
        const shadowModels = [
          ...new Set(readAnalysisLog(dataDir, { mode: 'shadow' }).map((e) => e.model)),
        ].sort();
        let model = opts.model;
        if (model === undefined) {
          if (shadowModels.length !== 1) {
            throw new RadiolensError(
              'E_BAD_INPUT',
              shadowModels.length === 0
                ? `${dataDir} holds no shadow analyses — route studies to a model with a "shadow" entry (or --shadow) and wait for them`
                : `the node ran ${shadowModels.join(', ')} in shadow mode — choose one with --model`,
            );
          }
          model = shadowModels[0]!;
        }
        const { id, version } = parseModelRef(model);
        if (version === undefined)
          throw new RadiolensError(
            'E_BAD_INPUT',
            `--model ${model}: name the version, <id>@<version>`,
          );
        const pkg = await new ModelRegistry(modelRegistryLocation(opts.registry)).resolve(
          id,
          version,
        );
        const labels = pkg.manifest.labels.map((l) => ({ id: l.id, threshold: l.threshold }));
        const found = await nodeAnalyses(dataDir, { mode: 'shadow', model: `${id}@${version}` });
        // The latest analysis of each study (a study that grew was analysed again).
        const byStudy = new Map<string, PilotStudy>();
        for (const entry of found.entries) {
          const images = found.images.filter(
            (image) => image.studyInstanceUid === entry.studyInstanceUid,
          );
          const latest = images.filter(
            (image) =>
              image.performedAt.getTime() ===
              Math.max(...images.map((i) => i.performedAt.getTime())),
          );
          byStudy.set(entry.studyInstanceUid, {
            studyInstanceUid: entry.studyInstanceUid,
            accessionNumber: entry.accessionNumber,
            images: latest,
          });
        }
        const report = buildPilotReport({
          model: { id, version },
          labels,
          studies: [...byStudy.values()],
          answers: readRadiologistAnswers(
            resolve(opts.labels),
            labels.map((l) => l.id),
          ),
          period: opts.period,
        });
        const out = resolve(opts.out);
        await writeFileAtomic(join(out, 'report.json'), `${JSON.stringify(report, null, 2)}\n`);
        await writeFileAtomic(join(out, 'report.html'), renderPilotHtml(report));
        const lines = [
          `shadow pilot of ${id}@${version}: ${report.studies.analysed} studies analysed, ${report.studies.answered} with an answer`,
        ];
        for (const label of report.labels) {
          const fmt = (p: {
            estimate: number | null;
            ci: readonly [number, number] | null;
          }): string =>
            p.estimate === null
              ? '—'
              : `${p.estimate.toFixed(3)} [${p.ci![0].toFixed(3)}, ${p.ci![1].toFixed(3)}]`;
          lines.push(
            `  ${label.id}: sensitivity ${fmt(label.overall.sensitivity)}, specificity ${fmt(label.overall.specificity)}, AUC ${fmt(label.overall.auc)} (${label.answered} studies)`,
          );
        }
        if (found.missing > 0)
          lines.push(`  (${found.missing} analysis file(s) named by the node's log are gone)`);
        lines.push(`report: ${join(out, 'report.html')}`, `        ${join(out, 'report.json')}`);
        process.stdout.write(`${lines.join('\n')}\n`);
      },
    );
};
