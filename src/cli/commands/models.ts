import type { Command } from 'commander';
import { ModelRegistry, type ActiveVersion } from '../../inference/models/index.js';
import { loadPackageOodStatistics } from '../../inference/ood/index.js';
import { modelRegistryLocation, parseModelRef } from '../modelRegistryLocation.js';
import type { CommandModule } from './index.js';
import { registerPromotionCommands } from './promote.js';

export const modelsCommand: CommandModule = (program: Command) => {
  const models = program
    .command('models')
    .description('List and inspect installed model packages (manifest = model card)');

  models
    .command('list')
    .description(
      'List installed model packages: id, version, which version is active, intended use',
    )
    .option(
      '--registry <dir>',
      'model registry folder (default: $RADIOLENS_MODELS or the shipped models/)',
    )
    .option('--json', 'print JSON')
    .action(async (opts: { registry?: string; json?: boolean }) => {
      const root = modelRegistryLocation(opts.registry);
      const registry = new ModelRegistry(root);
      const entries = await registry.list();
      const active = new Map<string, ActiveVersion>();
      for (const id of new Set(entries.map((e) => e.id)))
        active.set(id, await registry.activeVersion(id));
      const isActive = (e: { id: string; version: string }): boolean =>
        active.get(e.id)?.version === e.version;
      if (opts.json) {
        const rows = entries.map((e) => ({
          id: e.id,
          version: e.version,
          active: isActive(e),
          changeControl: e.manifest.changeControl?.plan ?? null,
          driftReference: e.manifest.monitoring !== undefined,
          name: e.manifest.name,
          dir: e.dir,
        }));
        process.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
        return;
      }
      if (entries.length === 0) {
        process.stdout.write(`no model packages installed in ${root}\n`);
        return;
      }
      for (const entry of entries) {
        const use = entry.manifest.intendedUse;
        const state = isActive(entry)
          ? active.get(entry.id)!.source === 'promoted'
            ? '  [active]'
            : '  [active: newest release, never promoted]'
          : '';
        process.stdout.write(
          `${entry.id}@${entry.version}${state}  ${entry.manifest.name}\n` +
            `  intended for ${use.modalities.join('/')} ${use.bodyParts.join('/')}` +
            `${use.viewPositions.length ? ` ${use.viewPositions.join('/')}` : ''}; ` +
            `labels: ${entry.manifest.labels.map((l) => l.id).join(', ')}\n`,
        );
      }
    });

  models
    .command('show')
    .description(
      'Show a model package: verified hashes, intended use, labels and operating points, lineage, validation, OOD statistics, monitoring and change control',
    )
    .argument('<model>', '<id>[@<version>] (default version: the active one)')
    .option('--registry <dir>', 'model registry folder')
    .option('--json', 'print the whole manifest as JSON')
    .action(async (ref: string, opts: { registry?: string; json?: boolean }) => {
      const { id, version } = parseModelRef(ref);
      const pkg = await new ModelRegistry(modelRegistryLocation(opts.registry)).resolve(
        id,
        version,
      );
      const m = pkg.manifest;
      if (opts.json) {
        process.stdout.write(
          `${JSON.stringify({ ...m, manifestSha256: pkg.manifestSha256, dir: pkg.dir }, null, 2)}\n`,
        );
        return;
      }
      // The statistics are loaded (and checked against this model.onnx) to say what the flag means.
      const ood = await loadPackageOodStatistics(pkg);
      const lines = [
        `${m.id}@${m.version} — ${m.name} (${m.manufacturer})`,
        `package     ${pkg.dir} (every file's sha256 verified; manifest sha256 ${pkg.manifestSha256})`,
        `task        ${m.task}`,
        `intended    ${m.intendedUse.summary}`,
        `            modalities ${m.intendedUse.modalities.join(', ')}; body parts ${m.intendedUse.bodyParts.join(', ')}; ` +
          `views ${m.intendedUse.viewPositions.join(', ') || 'any'}`,
        `not for     ${m.intendedUse.notFor.join('; ') || '—'}`,
        `limitations ${m.limitations.join('; ') || '—'}`,
        `input       ${m.input.width}x${m.input.height}x${m.input.channels} (${m.input.resize}, ${m.input.normalisation.kind})`,
        `explanation ${explanationText[m.explanation.method]}`,
        'labels:',
        ...m.labels.map(
          (l) =>
            `  ${l.id}  ${l.code.scheme} ${l.code.value} "${l.code.meaning}"  threshold ${l.threshold}  alert ${l.alertLevel}`,
        ),
        `lineage     ${JSON.stringify(m.lineage)}`,
        `validation  ${m.validation.length} result(s)`,
        ...m.validation.map((v) => `  ${JSON.stringify(v)}`),
        `ood         ${
          ood === null
            ? '— (no out-of-distribution statistics: analyze shows no OOD flag)'
            : `${m.ood!.file}: fitted on ${ood.fitCount} images, threshold ${ood.threshold.toFixed(3)} (p${ood.percentile}, ${ood.thresholdSource}); ${
                ood.meaning
                  ? `what the flag means was measured ${ood.meaning.measuredAt} on ${ood.meaning.reference.images} held-out images (${ood.meaning.reference.name})`
                  : 'what the flag means was not measured'
              }`
        }`,
        `monitoring  ${m.monitoring ? `drift reference ${m.monitoring.reference}` : '— (no drift reference)'}`,
        `change      ${
          m.changeControl
            ? `${m.changeControl.plan}: allows ${m.changeControl.allowedModifications.map((x) => x.kind).join(', ')}; ` +
              `locked test dataset ${m.changeControl.acceptance.testDataset.name} ${m.changeControl.acceptance.testDataset.version}`
            : '— (no change-control plan: no successor can be promoted over this version)'
        }`,
      ];
      process.stdout.write(`${lines.join('\n')}\n`);
    });

  registerPromotionCommands(models);
};

const explanationText = {
  cam: 'exact Grad-CAM (GAP + linear head)',
  occlusion: 'occlusion sensitivity',
  none: 'none (a segmentation model: its probability maps are the output)',
} as const;
