import type { Command } from 'commander';
import { createHash } from 'node:crypto';
import { resolve, join } from 'node:path';
import { mkdir } from 'node:fs/promises';
import { RadiolensError, writeFileAtomic } from '../../foundation/core/index.js';
import { ModelRegistry, type ModelPackage } from '../../inference/models/index.js';
import {
  evaluateOodSet,
  extractPooledFeatures,
  readImageList,
  OOD_REPORT_SCHEMA,
  type ImageFeatures,
  type OodReport,
  type OodSetResult,
} from '../../lifecycle/ood/index.js';
import {
  fitOodStatistics,
  loadPackageOodStatistics,
  oodFlag,
  readOodStatistics,
  writeOodStatistics,
  type OodStatistics,
} from '../../inference/ood/index.js';
import { modelRegistryLocation, parseModelRef } from '../modelRegistryLocation.js';
import type { CommandModule } from './index.js';

async function resolveModel(ref: string, registry?: string): Promise<ModelPackage> {
  const { id, version } = parseModelRef(ref);
  return new ModelRegistry(modelRegistryLocation(registry)).resolve(id, version);
}

function modelIdentity(pkg: ModelPackage): { id: string; version: string; onnxSha256: string } {
  return {
    id: pkg.manifest.id,
    version: pkg.manifest.version,
    onnxSha256: pkg.manifest.files['model.onnx']!,
  };
}

async function featuresOf(
  pkg: ModelPackage,
  specs: readonly string[],
): Promise<{ features: ImageFeatures[]; groups: string[] }> {
  const features: ImageFeatures[] = [];
  const groups: string[] = [];
  for (const spec of specs) {
    const list = await readImageList(spec);
    const extracted = await extractPooledFeatures(list.paths, pkg);
    extracted.forEach((item, i) => {
      features.push(item);
      groups.push(list.groups?.[i] ?? item.path);
    });
  }
  return { features, groups };
}

function usable(
  features: readonly ImageFeatures[],
  groups: readonly string[],
  what: string,
): { vectors: Float32Array[]; groups: string[] } {
  const failed = features.filter((f) => f.pooled === null);
  if (failed.length > 0) {
    // A fit set with silently dropped images would describe a different population.
    const listed = failed
      .slice(0, 5)
      .map((f) => `  ${f.path}: ${f.problem}`)
      .join('\n');
    throw new RadiolensError(
      'E_BAD_INPUT',
      `${failed.length} image(s) of the ${what} could not be read; remove them from the list:\n${listed}`,
    );
  }
  return { vectors: features.map((f) => f.pooled!), groups: [...groups] };
}

interface EvalSet {
  name: string;
  expect: OodSetResult['expect'];
  features: ImageFeatures[];
}

interface Variant {
  name: string;
  fit: ImageFeatures[];
  groups: string[];
  sources: string[];
  sets: EvalSet[];
}

export const oodCommand: CommandModule = (program: Command) => {
  const ood = program
    .command('ood')
    .description(
      'Out-of-distribution check: flag images that are not frontal chest radiographs (Mahalanobis distance of pooled features).',
    );

  ood
    .command('fit')
    .description('Fit the in-distribution statistics on chest radiographs and write them to a file')
    .requiredOption('-m, --model <id[@version]>', 'model whose features are used')
    .requiredOption(
      '--images <csv|dir...>',
      'in-distribution images: CSV with an "image" column (and optional patient_id) or folders',
    )
    .requiredOption('-o, --out <file>', 'statistics file to write (JSON)')
    .option(
      '--percentile <p>',
      'threshold percentile of the fit set distances',
      Number.parseFloat,
      99,
    )
    .option(
      '--folds <k>',
      'out-of-fold threshold folds (0: in-sample)',
      (v) => Number.parseInt(v, 10),
      5,
    )
    .option('--registry <dir>', 'model registry folder')
    .action(
      async (opts: {
        model: string;
        images: string[];
        out: string;
        percentile: number;
        folds: number;
        registry?: string;
      }) => {
        const pkg = await resolveModel(opts.model, opts.registry);
        const { features, groups } = await featuresOf(pkg, opts.images);
        const fit = usable(features, groups, 'fit set');
        const stats = fitOodStatistics(fit.vectors, {
          model: modelIdentity(pkg),
          percentile: opts.percentile,
          folds: opts.folds,
          groups: fit.groups,
          fitSources: opts.images,
        });
        await writeOodStatistics(resolve(opts.out), stats);
        process.stdout.write(
          `fitted on ${stats.fitCount} images (${stats.dimension} features, shrinkage ${stats.shrinkage.toFixed(3)}); threshold ${stats.threshold.toFixed(2)} = ${stats.thresholdSource} p${stats.percentile}\nwrote ${opts.out}\n`,
        );
      },
    );

  ood
    .command('check')
    .description(
      "Check images against the model's OOD statistics (the package's, or --stats); exit 1 when any image is flagged or unreadable",
    )
    .requiredOption('-m, --model <id[@version]>', 'model')
    .option('--stats <file>', 'statistics file (default: the one the package ships)')
    .option('--json', 'print JSON')
    .option('--registry <dir>', 'model registry folder')
    .argument('<files...>', 'images (DICOM, PNG or JPEG)')
    .action(
      async (
        files: string[],
        opts: { model: string; stats?: string; json?: boolean; registry?: string },
      ) => {
        const pkg = await resolveModel(opts.model, opts.registry);
        const stats: OodStatistics | null = opts.stats
          ? await readOodStatistics(resolve(opts.stats))
          : await loadPackageOodStatistics(pkg);
        if (stats === null) {
          throw new RadiolensError(
            'E_BAD_INPUT',
            `${pkg.manifest.id}@${pkg.manifest.version} ships no OOD statistics — pass --stats <file> from \`radiolens ood fit\``,
          );
        }
        if (stats.model.onnxSha256 !== pkg.manifest.files['model.onnx']) {
          throw new RadiolensError(
            'E_BAD_INPUT',
            `${opts.stats} was fitted for another model.onnx than ${pkg.manifest.id}@${pkg.manifest.version} — refit it for this model`,
          );
        }
        const features = await extractPooledFeatures(files, pkg);
        const results = features.map((f) =>
          f.pooled === null
            ? { path: f.path, problem: f.problem }
            : { path: f.path, kind: f.kind, ...oodFlag(stats, f.pooled) },
        );
        if (opts.json) {
          process.stdout.write(`${JSON.stringify(results, null, 2)}\n`);
        } else {
          for (const r of results) {
            process.stdout.write(
              'distance' in r
                ? `${r.flagged ? 'OUT-OF-DISTRIBUTION' : 'ok'}  distance ${r.distance.toFixed(2)} (threshold ${r.threshold.toFixed(2)})  ${r.path}\n`
                : `unreadable  ${r.path}: ${r.problem}\n`,
            );
          }
        }
        if (results.some((r) => !('distance' in r) || r.flagged)) process.exitCode = 1;
      },
    );

  ood
    .command('evaluate')
    .description(
      'Measure the check: fit on the training population only, and on training + half of the site (by patient); report false-flag rates on held-out chest images and detection on non-chest images',
    )
    .requiredOption('-m, --model <id[@version]>', 'model')
    .requiredOption('--training <csv|dir...>', 'training-population chest images used for fitting')
    .option('--training-test <csv|dir...>', 'held-out training-population chest images')
    .requiredOption('--site <csv>', 'site chest images (CSV with image, patient_id)')
    .requiredOption(
      '--non-chest <csv|dir...>',
      'non-chest images (e.g. the DICOM conformance corpus); BodyPartExamined CHEST files are set apart',
    )
    .requiredOption('-o, --out <file>', 'report JSON')
    .option('--stats-dir <dir>', "also write each variant's statistics file here")
    .option('--percentile <p>', 'threshold percentile', Number.parseFloat, 99)
    .option('--registry <dir>', 'model registry folder')
    .action(
      async (opts: {
        model: string;
        training: string[];
        trainingTest?: string[];
        site: string;
        nonChest: string[];
        out: string;
        statsDir?: string;
        percentile: number;
        registry?: string;
      }) => {
        const pkg = await resolveModel(opts.model, opts.registry);
        const training = await featuresOf(pkg, opts.training);
        const trainingTest = opts.trainingTest ? await featuresOf(pkg, opts.trainingTest) : null;
        const site = await featuresOf(pkg, [opts.site]);
        const corpus = await featuresOf(pkg, opts.nonChest);
        const chestInCorpus = corpus.features.filter((f) => /\/CHEST\//.test(f.kind));
        const nonChest = corpus.features.filter((f) => !/\/CHEST\//.test(f.kind));
        // Site patients split in two by a hash of the patient id: one half may join the fit set,
        // the other half is never seen by any fit.
        const siteHalf = site.groups.map(
          (g) => createHash('sha256').update(`ood:${g}`).digest()[0]! % 2,
        );
        const siteFit = site.features.filter((_, i) => siteHalf[i] === 0);
        const siteHeldOut = site.features.filter((_, i) => siteHalf[i] === 1);
        const held: EvalSet[] = trainingTest
          ? [
              {
                name: 'training population, held-out test split',
                expect: 'in-distribution',
                features: trainingTest.features,
              },
            ]
          : [];
        const siteAll: EvalSet = {
          name: 'site, all images',
          expect: 'in-distribution',
          features: site.features,
        };
        const siteHeld: EvalSet = {
          name: 'site, held-out half (by patient)',
          expect: 'in-distribution',
          features: siteHeldOut,
        };
        const corpusSets: EvalSet[] = [
          {
            name: 'non-chest images (conformance corpus)',
            expect: 'out-of-distribution',
            features: nonChest,
          },
          {
            name: 'chest radiographs in the conformance corpus',
            expect: 'in-distribution',
            features: chestInCorpus,
          },
        ];
        const variants: Variant[] = [
          {
            name: 'training population only',
            fit: training.features,
            groups: training.groups,
            sources: opts.training,
            sets: [...held, siteAll, siteHeld, ...corpusSets],
          },
          {
            name: 'training population + half of the site',
            fit: [...training.features, ...siteFit],
            groups: [...training.groups, ...site.groups.filter((_, i) => siteHalf[i] === 0)],
            sources: [
              ...opts.training,
              `${opts.site} (patients with sha256("ood:"+patient_id)[0] even)`,
            ],
            sets: [...held, siteHeld, ...corpusSets],
          },
        ];
        const report: OodReport = {
          schema: OOD_REPORT_SCHEMA,
          generatedAt: new Date().toISOString(),
          model: { id: pkg.manifest.id, version: pkg.manifest.version },
          variants: [],
        };
        for (const [index, variant] of variants.entries()) {
          const fit = usable(variant.fit, variant.groups, `${variant.name} fit set`);
          const stats = fitOodStatistics(fit.vectors, {
            model: modelIdentity(pkg),
            percentile: opts.percentile,
            groups: fit.groups,
            fitSources: variant.sources,
          });
          if (opts.statsDir) {
            await mkdir(resolve(opts.statsDir), { recursive: true });
            await writeOodStatistics(
              join(resolve(opts.statsDir), `ood-variant-${index + 1}.json`),
              stats,
            );
          }
          const sets = variant.sets.map(({ name, expect, features }) =>
            evaluateOodSet(stats, name, expect, features),
          );
          report.variants.push({
            name: variant.name,
            fitSources: stats.fitSources,
            fitCount: stats.fitCount,
            percentile: stats.percentile,
            thresholdSource: stats.thresholdSource,
            threshold: stats.threshold,
            shrinkage: stats.shrinkage,
            sets,
          });
          process.stdout.write(
            `${variant.name}: fit ${stats.fitCount}, threshold ${stats.threshold.toFixed(2)}\n`,
          );
          for (const set of sets) {
            process.stdout.write(
              `  ${set.name}: ${set.flagged}/${set.decoded} flagged (${(100 * set.rate).toFixed(1)}%)\n`,
            );
          }
        }
        await writeFileAtomic(resolve(opts.out), `${JSON.stringify(report, null, 2)}\n`);
        process.stdout.write(`wrote ${opts.out}\n`);
      },
    );
};
