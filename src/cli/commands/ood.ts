import type { Command } from 'commander';
import { createHash } from 'node:crypto';
import { resolve, join } from 'node:path';
import { mkdir, readFile } from 'node:fs/promises';
import { RadiolensError, writeFileAtomic } from '../../foundation/core/index.js';
import { ModelRegistry, type ModelPackage } from '../../inference/models/index.js';
import {
  evaluateOodSet,
  extractPooledFeatures,
  oodDetection,
  oodErrorAnalysis,
  oodMeaningFrom,
  readImageList,
  renderOodReportHtml,
  OOD_REPORT_SCHEMA,
  type ImageFeatures,
  type LabelledDistance,
  type OodDetection,
  type OodReport,
  type OodSetResult,
  type OodVariantResult,
} from '../../lifecycle/ood/index.js';
import { readValidationLabels } from '../../lifecycle/validation/index.js';
import { namedPath } from '../../lifecycle/modelcard/index.js';
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
  const failed = features.filter((f) => f.pooled === null && f.refused === null);
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
  // Images the lung-field check refuses are never scored, so they are not part of what the
  // flag is about; said, not silently dropped.
  const refused = features.filter((f) => f.refused !== null).length;
  if (refused > 0) {
    process.stdout.write(
      `${what}: ${refused} of ${features.length} image(s) left out — the lung-field check refuses them, so analyze never scores them\n`,
    );
  }
  const kept = features.flatMap((f, i) => (f.pooled === null ? [] : [i]));
  return { vectors: kept.map((i) => features[i]!.pooled!), groups: kept.map((i) => groups[i]!) };
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
      "Out-of-distribution check: flag images that are not frontal chest radiographs (Mahalanobis distance of pooled features; a lung-field classifier's are those of its lung-field crop, and an image its lung-field check refuses has none and is counted apart).",
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
      "Check images against the model's OOD statistics (the package's, or --stats); exit 1 when any image is flagged, unreadable or (lung-field classifiers) refused by the lung-field check",
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
            ? { path: f.path, problem: f.problem, refused: f.refused !== null }
            : { path: f.path, kind: f.kind, ...oodFlag(stats, f.pooled) },
        );
        if (opts.json) {
          process.stdout.write(`${JSON.stringify(results, null, 2)}\n`);
        } else {
          for (const r of results) {
            process.stdout.write(
              'distance' in r
                ? `${r.flagged ? 'OUT-OF-DISTRIBUTION' : 'ok'}  distance ${r.distance.toFixed(2)} (threshold ${r.threshold.toFixed(2)})  ${r.path}\n`
                : `${r.refused ? 'refused' : 'unreadable'}  ${r.path}: ${r.problem}\n`,
            );
          }
        }
        if (results.some((r) => !('distance' in r) || r.flagged)) process.exitCode = 1;
      },
    );

  ood
    .command('evaluate')
    .description(
      "Measure the check: what its flag means. Fit on the training population only, and on training + half of the site (by patient); evaluate the package's own statistics (or --stats) as given. Per variant: flag rates on held-out chest images and non-chest images, and with --labels the flag as a predictor of wrong decisions (risk-coverage, AUC) and as a detector of paediatric, lateral and non-chest images (AUC, rate)",
    )
    .requiredOption('-m, --model <id[@version]>', 'model')
    .option('--training <csv|dir...>', 'training-population chest images used for fitting')
    .option('--training-test <csv|dir...>', 'held-out training-population chest images')
    .option('--site <csv>', 'site chest images (CSV with image, patient_id); needs --training')
    .requiredOption(
      '--non-chest <csv|dir...>',
      'non-chest images (e.g. the DICOM conformance corpus); BodyPartExamined CHEST files are set apart',
    )
    .option(
      '--labels <csv>',
      "[name=]csv: labelled in-distribution images held out of every fit (e.g. the site test split): image, the model's label column, patient_id; the name is what the caveat calls them",
    )
    .option('--splits <file>', "with --labels: a finetune package's splits.json; keep --split only")
    .option('--split <name>', 'with --splits: which split', 'test')
    .option('--paediatric <csv|dir...>', 'paediatric chest radiographs held out of every fit')
    .option('--lateral <csv|dir...>', 'lateral chest radiographs')
    .option(
      '--stats <file>',
      "statistics to evaluate as given instead of the package's own (e.g. a candidate for the next version)",
    )
    .option(
      '--meaning-out <file>',
      'write the evaluated statistics (package or --stats) with what their flag was shown to mean, ready for a package',
    )
    .requiredOption('-o, --out <file>', 'report JSON (report HTML beside it)')
    .option('--stats-dir <dir>', "also write each fitted variant's statistics file here")
    .option('--percentile <p>', 'threshold percentile', Number.parseFloat, 99)
    .option('--registry <dir>', 'model registry folder')
    .action(
      async (opts: {
        model: string;
        training?: string[];
        trainingTest?: string[];
        site?: string;
        nonChest: string[];
        labels?: string;
        splits?: string;
        split: string;
        paediatric?: string[];
        lateral?: string[];
        stats?: string;
        meaningOut?: string;
        out: string;
        statsDir?: string;
        percentile: number;
        registry?: string;
      }) => {
        const pkg = await resolveModel(opts.model, opts.registry);
        if (opts.site && !opts.training) {
          throw new RadiolensError(
            'E_BAD_INPUT',
            '--site is fitted together with the training population: give --training too',
          );
        }
        const given: OodStatistics | null = opts.stats
          ? await readOodStatistics(resolve(opts.stats))
          : await loadPackageOodStatistics(pkg);
        if (given !== null && given.model.onnxSha256 !== pkg.manifest.files['model.onnx']) {
          throw new RadiolensError(
            'E_BAD_INPUT',
            `${opts.stats} was fitted for another model.onnx than ${pkg.manifest.id}@${pkg.manifest.version} — refit it for this model`,
          );
        }
        if (opts.meaningOut && given === null) {
          throw new RadiolensError(
            'E_BAD_INPUT',
            `${pkg.manifest.id}@${pkg.manifest.version} ships no OOD statistics — give --stats <file> to measure the meaning of`,
          );
        }
        const label = pkg.manifest.labels[0]!;
        const lungField = pkg.manifest.input.region !== undefined;
        const labelled = opts.labels
          ? await readLabelled(
              namedPath(opts.labels).path,
              label.id,
              opts.splits ? { file: opts.splits, split: opts.split } : null,
            )
          : null;
        const labelledFeatures = labelled
          ? await extractPooledFeatures(
              labelled.map((l) => l.path),
              pkg,
            )
          : [];
        const training = opts.training ? await featuresOf(pkg, opts.training) : null;
        const trainingTest = opts.trainingTest ? await featuresOf(pkg, opts.trainingTest) : null;
        const site = opts.site ? await featuresOf(pkg, [opts.site]) : null;
        const corpus = await featuresOf(pkg, opts.nonChest);
        const paediatric = opts.paediatric ? await featuresOf(pkg, opts.paediatric) : null;
        const lateral = opts.lateral ? await featuresOf(pkg, opts.lateral) : null;
        const chestInCorpus = corpus.features.filter((f) => /\/CHEST\//.test(f.kind));
        const nonChest = distinctInstances(
          corpus.features.filter((f) => !/\/CHEST\//.test(f.kind)),
        );
        // Labelled images are held out of every fit: their patients never join the site half.
        const heldOutPatients = new Set(
          (labelled ?? []).map((l) => l.patient).filter((p) => p !== null),
        );
        const labelledPaths = new Set((labelled ?? []).map((l) => l.path));
        // Site patients split in two by a hash of the patient id: one half may join the fit set,
        // the other half is never seen by any fit.
        const siteHalf = (site?.groups ?? []).map((g, i) =>
          heldOutPatients.has(g) || labelledPaths.has(site!.features[i]!.path)
            ? 1
            : createHash('sha256').update(`ood:${g}`).digest()[0]! % 2,
        );
        const siteFit = (site?.features ?? []).filter((_, i) => siteHalf[i] === 0);
        const siteHeldOut = (site?.features ?? []).filter((_, i) => siteHalf[i] === 1);
        const held: EvalSet[] = trainingTest
          ? [
              {
                name: 'training population, held-out test split',
                expect: 'in-distribution',
                features: trainingTest.features,
              },
            ]
          : [];
        const labelledSet: EvalSet[] = labelled
          ? [
              {
                name: `labelled: ${labelledName(opts)}`,
                expect: 'in-distribution',
                features: labelledFeatures,
              },
            ]
          : [];
        const ood: EvalSet[] = [
          {
            name: 'non-chest images (conformance corpus)',
            expect: 'out-of-distribution',
            features: corpus.features.filter((f) => !/\/CHEST\//.test(f.kind)),
          },
          {
            name: 'chest radiographs in the conformance corpus',
            expect: 'in-distribution',
            features: chestInCorpus,
          },
          ...(paediatric
            ? [
                {
                  name: 'paediatric chest radiographs',
                  expect: 'out-of-distribution' as const,
                  features: paediatric.features,
                },
              ]
            : []),
          ...(lateral
            ? [
                {
                  name: 'lateral chest radiographs',
                  expect: 'out-of-distribution' as const,
                  features: lateral.features,
                },
              ]
            : []),
        ];
        const variants: Variant[] = [];
        if (training) {
          variants.push({
            name: 'training population only',
            fit: training.features,
            groups: training.groups,
            sources: opts.training!,
            sets: [
              ...held,
              ...(site
                ? [
                    {
                      name: 'site, all images',
                      expect: 'in-distribution' as const,
                      features: site.features,
                    },
                    {
                      name: 'site, held-out half (by patient)',
                      expect: 'in-distribution' as const,
                      features: siteHeldOut,
                    },
                  ]
                : []),
              ...labelledSet,
              ...ood,
            ],
          });
        }
        if (training && site) {
          variants.push({
            name: 'training population + half of the site',
            fit: [...training.features, ...siteFit],
            groups: [...training.groups, ...site.groups.filter((_, i) => siteHalf[i] === 0)],
            sources: [
              ...opts.training!,
              `${opts.site} (patients with sha256("ood:"+patient_id)[0] even${labelled ? ', none of --labels' : ''})`,
            ],
            sets: [
              ...held,
              {
                name: 'site, held-out half (by patient)',
                expect: 'in-distribution',
                features: siteHeldOut,
              },
              ...labelledSet,
              ...ood,
            ],
          });
        }
        const report: OodReport = {
          schema: OOD_REPORT_SCHEMA,
          generatedAt: new Date().toISOString(),
          model: { id: pkg.manifest.id, version: pkg.manifest.version },
          variants: [],
        };
        const measure = (stats: OodStatistics, result: OodVariantResult): void => {
          const notMeasured: string[] = [];
          if (!paediatric) notMeasured.push('paediatric radiographs (none were given)');
          if (!lateral)
            notMeasured.push('lateral views (no lateral chest radiographs were available)');
          result.notMeasured = notMeasured;
          if (!labelled) return;
          const distances: LabelledDistance[] = [];
          labelledFeatures.forEach((f, k) => {
            if (f.pooled === null || f.scores === null) return;
            distances.push({
              image: labelled[k]!.image,
              patient: labelled[k]!.patient,
              distance: oodFlag(stats, f.pooled).distance,
              score: f.scores[0]!,
              truth: labelled[k]!.truth,
            });
          });
          result.errors = {
            ...oodErrorAnalysis(stats, distances, label.threshold),
            reference: labelledName(opts),
            label: label.id,
          };
          const reference = distances.map((d) => d.distance);
          const detection: OodDetection[] = [];
          // A lung-field classifier's refusals count beside its flags: both keep a score from
          // reaching the reader unannounced.
          const detect = (kind: string, name: string, features: readonly ImageFeatures[]) => {
            const scored = features.flatMap((f) =>
              f.pooled === null ? [] : [{ pooled: f.pooled, kind: f.kind }],
            );
            const refused = features.filter((f) => f.refused !== null).length;
            if (scored.length + refused === 0) return;
            detection.push(
              oodDetection(stats, kind, name, scored, reference, lungField ? refused : undefined),
            );
          };
          if (paediatric)
            detect(
              'paediatric',
              'paediatric chest radiographs',
              distinctInstances(paediatric.features),
            );
          if (lateral)
            detect('lateral', 'lateral chest radiographs', distinctInstances(lateral.features));
          detect('non-chest', 'non-chest images', nonChest);
          for (const [kind, name] of NON_CHEST_GROUPS) {
            detect(
              kind,
              name,
              nonChest.filter((f) => nonChestGroup(f.kind) === kind),
            );
          }
          result.detection = detection;
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
          const result: OodVariantResult = {
            name: variant.name,
            origin: 'fitted',
            fitSources: stats.fitSources,
            fitCount: stats.fitCount,
            percentile: stats.percentile,
            thresholdSource: stats.thresholdSource,
            threshold: stats.threshold,
            shrinkage: stats.shrinkage,
            sets: variant.sets.map(({ name, expect, features }) =>
              evaluateOodSet(stats, name, expect, features),
            ),
          };
          measure(stats, result);
          report.variants.push(result);
        }
        if (given !== null) {
          const result: OodVariantResult = {
            name: opts.stats
              ? `as given (${opts.stats})`
              : `as shipped in ${pkg.manifest.id}@${pkg.manifest.version}`,
            origin: 'given',
            fitSources: given.fitSources,
            fitCount: given.fitCount,
            percentile: given.percentile,
            thresholdSource: given.thresholdSource,
            threshold: given.threshold,
            shrinkage: given.shrinkage,
            sets: [...held, ...labelledSet, ...ood].map(({ name, expect, features }) =>
              evaluateOodSet(given, name, expect, features),
            ),
          };
          measure(given, result);
          report.variants.push(result);
        }
        if (report.variants.length === 0) {
          throw new RadiolensError(
            'E_BAD_INPUT',
            `nothing to evaluate: ${pkg.manifest.id}@${pkg.manifest.version} ships no statistics — give --training (and --site) to fit some, or --stats`,
          );
        }
        for (const v of report.variants) {
          process.stdout.write(
            `${v.name}: fit ${v.fitCount}, threshold ${v.threshold.toFixed(2)}\n`,
          );
          for (const set of v.sets) {
            const refused = set.refused?.length ?? 0;
            process.stdout.write(
              `  ${set.name}: ${set.flagged}/${set.decoded} flagged (${(100 * set.rate).toFixed(1)}%)${refused > 0 ? `; ${refused} refused by the lung-field check` : ''}\n`,
            );
          }
          const e = v.errors;
          if (e) {
            process.stdout.write(
              `  wrong decisions: ${e.flagged.count}/${e.flagged.n} flagged, ${e.unflagged.count}/${e.unflagged.n} unflagged; AUC of the distance for an error ${e.aucForError ? `${e.aucForError.estimate.toFixed(3)} (${e.aucForError.ci[0].toFixed(3)}-${e.aucForError.ci[1].toFixed(3)})` : (e.aucForErrorNote ?? 'n/a')}\n`,
            );
          }
          for (const d of v.detection ?? []) {
            process.stdout.write(
              `  detects ${d.name}: ${d.flagged.count}/${d.flagged.n} flagged${d.refused ? `, ${d.refused.count}/${d.refused.n} refused by the lung-field check, ${d.stopped!.count}/${d.stopped!.n} refused or flagged` : ''}; AUC ${d.auc ? `${d.auc.estimate.toFixed(3)} (${d.auc.ci[0].toFixed(3)}-${d.auc.ci[1].toFixed(3)})` : (d.aucNote ?? 'n/a')}\n`,
            );
          }
        }
        const text = `${JSON.stringify(report, null, 2)}\n`;
        const out = resolve(opts.out);
        await writeFileAtomic(out, text);
        const html = out.replace(/\.json$/i, '') + '.html';
        await writeFileAtomic(html, renderOodReportHtml(report));
        if (opts.meaningOut && given !== null) {
          const meaning = oodMeaningFrom(report.variants[report.variants.length - 1]!, {
            path: opts.out,
            sha256: createHash('sha256').update(text).digest('hex'),
            generatedAt: report.generatedAt,
          });
          await writeOodStatistics(resolve(opts.meaningOut), { ...given, meaning });
          process.stdout.write(
            `wrote ${opts.meaningOut} (the statistics with their measured meaning)\n`,
          );
        }
        process.stdout.write(`wrote ${opts.out} and ${html}\n`);
      },
    );
};

/** Non-chest images grouped for detection: by modality, radiographs of other parts apart. */
const NON_CHEST_GROUPS: ReadonlyArray<[string, string]> = [
  ['CT', 'CT images'],
  ['MR', 'MR images'],
  ['US', 'ultrasound images'],
  ['radiograph', 'radiographs of other body parts'],
  ['other', 'other images (OT, NM, SEG, …)'],
];

function nonChestGroup(kind: string): string {
  const modality = kind.split('/')[0] ?? '';
  if (modality === 'CT' || modality === 'MR' || modality === 'US') return modality;
  if (modality === 'CR' || modality === 'DX' || modality === 'RG') return 'radiograph';
  return 'other';
}

/** Each SOP Instance once (the corpus holds one image in many transfer syntaxes). */
function distinctInstances(features: readonly ImageFeatures[]): ImageFeatures[] {
  const seen = new Set<string>();
  return features.filter((f) => {
    if (f.uid === null) return true;
    if (seen.has(f.uid)) return false;
    seen.add(f.uid);
    return true;
  });
}

/** What the labelled set is called: the name given as name=csv, else the file (and split). */
function labelledName(opts: { labels?: string; splits?: string; split: string }): string {
  if (opts.labels === undefined) return '';
  if (/^[^=/]+=/.test(opts.labels)) return namedPath(opts.labels).name;
  return opts.splits ? `${opts.labels} (split "${opts.split}" of ${opts.splits})` : opts.labels;
}

interface LabelledImage {
  image: string;
  path: string;
  patient: string | null;
  truth: 0 | 1;
}

async function readLabelled(
  csv: string,
  label: string,
  split: { file: string; split: string } | null,
): Promise<LabelledImage[]> {
  const images = readValidationLabels(resolve(csv), { labels: [label], subgroups: [] });
  let keep: Set<string> | null = null;
  if (split) {
    const json = JSON.parse(
      await readFile(resolve(split.file), 'utf8').catch((cause: unknown) => {
        throw new RadiolensError('E_IO', `cannot read ${split.file}`, {
          subject: split.file,
          cause,
        });
      }),
    ) as { images?: Record<string, unknown> };
    const list = json.images?.[split.split];
    if (!Array.isArray(list)) {
      throw new RadiolensError(
        'E_BAD_INPUT',
        `${split.file} has no image list "${split.split}" — give a splits.json that radiolens finetune wrote`,
      );
    }
    keep = new Set(list.map(String));
  }
  const chosen = images.filter((i) => keep === null || keep.has(i.image));
  if (chosen.length === 0) {
    throw new RadiolensError(
      'E_BAD_INPUT',
      `${csv} has no labelled image${keep ? ` in split "${split!.split}"` : ''}`,
    );
  }
  return chosen.map((i) => ({
    image: i.image,
    path: i.imagePath,
    patient: i.patient ?? null,
    truth: i.truth[label]!,
  }));
}
