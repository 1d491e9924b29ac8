/**
 * Package the lung segmentation model trained by training/lungs.py as the registry package
 * models/cxr-lungs/<version>/ (task 'segmentation', ADR 0160): model.onnx, the training run
 * record (the evidence every number of the card comes from), and a manifest whose lineage
 * names the dataset version, recipe commit and parameters. Then writes the model card
 * models/cxr-lungs/MODEL_CARD.md from that record alone.
 *
 * Usage: npx tsx tools/package-cxr-lungs.ts [build/lungs] [--version 1.0.0] [--registry models] [--card MODEL_CARD.md]
 *        npx tsx tools/package-cxr-lungs.ts --card-only [--version 1.0.0] [--registry models] [--card MODEL_CARD.md]
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { writeModelPackage, type ModelManifest } from '../src/inference/models/index.js';
import { LUNG_FIELD_RULE } from '../src/inference/lungField/index.js';

interface DiceSummary {
  mean: number;
  median: number;
  min: number;
  p10: number;
  max: number;
  n: number;
}
type DiceBySide = Record<'merged' | 'right' | 'left', DiceSummary>;

interface LungsRun {
  recipe: string;
  parameters: Record<string, unknown> & {
    input_size: number;
    normalisation: { mean: number; std: number };
    best_epoch: number;
    epochs: number;
    architecture: string;
    parameters_count: number;
  };
  dataset: { path: string; version: string };
  external_test: { images: number; patients: number };
  splits: Record<string, { images: number; patients: number }>;
  split_rule: string;
  dice: Record<string, Record<'raw' | 'largest', DiceBySide>>;
  dice_rule: string;
  /** Lung fields of a site folder without masks (lungs.py --site; 1.1.0 on), whole and cropped. */
  site_lung_fields?: SiteLungFields | null;
  train_seconds: number;
  seconds: number;
  torch_version: string;
  artefacts: Record<string, string>;
}

interface SiteLungFields {
  folder: string;
  images: number;
  plausible: number;
  plausible_reaching_edge: number;
  plausible_after_crop_2pct: number;
  verdict_changed_by_crop_2pct: number;
  crop_box_shift: {
    n: number;
    mean: number | null;
    median: number | null;
    p90: number | null;
    moved_over_5pct: number;
  };
  rule: string;
}

const RECORD = 'training-run.json';
const args = process.argv.slice(2);
const option = (name: string, fallback: string): string =>
  args.includes(name) ? args[args.indexOf(name) + 1]! : fallback;
const version = option('--version', '1.0.0');
const registry = resolve(option('--registry', 'models'));
const cardOnly = args.includes('--card-only');
const packageDir = join(registry, 'cxr-lungs', version);
// The newest version's card is MODEL_CARD.md; an older one keeps MODEL_CARD-<version>.md
// (the models catalogue looks for that name first).
const cardFile = option('--card', 'MODEL_CARD.md');

if (!cardOnly) {
  const trainDir = resolve(args[0] ?? 'build/lungs');
  const runText = readFileSync(join(trainDir, RECORD), 'utf8');
  const run = JSON.parse(runText) as LungsRun;
  const onnx = readFileSync(join(trainDir, 'cxr-lungs.onnx'));
  const commit = execFileSync('git', ['log', '-1', '--format=%H', '--', 'training/lungs.py'], {
    encoding: 'utf8',
  }).trim();
  const parameters: Record<string, string | number | boolean> = {};
  for (const [key, value] of Object.entries(run.parameters)) {
    if (['string', 'number', 'boolean'].includes(typeof value) && !['data', 'out'].includes(key))
      parameters[key] = value as string | number | boolean;
  }
  parameters['split_rule'] = run.split_rule;
  for (const [split, counts] of Object.entries(run.splits)) {
    parameters[`split_${split}`] = `${counts.images} images, ${counts.patients} patients`;
  }
  parameters['train_seconds'] = run.train_seconds;
  const dice = (dataset: string, summary: DiceBySide, n: number): ModelManifest['validation'] =>
    (['merged', 'right', 'left'] as const).map((side) => ({
      dataset,
      datasetVersion: run.dataset.version,
      metric: `dice ${side === 'merged' ? 'both lungs' : `${side} lung`} (mean over images, source resolution)`,
      value: summary[side].mean,
      n,
    }));
  const test = run.dice['test']!.raw;
  const external = run.dice['external_nonpermissive']?.raw;
  const manifest: Omit<ModelManifest, 'files'> = {
    id: 'cxr-lungs',
    version,
    name: 'Radiolens CXR lungs (two-lung segmentation, compact U-Net)',
    task: 'segmentation',
    manufacturer: 'Radiolens project',
    intendedUse: {
      summary:
        "Finds the patient's right and left lung on frontal (PA/AP) chest radiographs so that a lung-field " +
        'classifier (cxr-pneumonia 2.x) gets its input, the intended-use check can refuse images without two ' +
        'plausible lungs, and heatmaps can be placed relative to the lungs. Not a finding: its masks are never ' +
        'reported as a diagnosis or a measurement.',
      modalities: ['CR', 'DX'],
      bodyParts: ['CHEST'],
      viewPositions: ['PA', 'AP'],
      allowMissing: ['ViewPosition'],
      photometric: ['MONOCHROME1', 'MONOCHROME2'],
      minRows: 224,
      minColumns: 224,
      bitsStored: { min: 8, max: 16 },
      notFor: [
        'lung volumetry or any measurement reported to a clinician',
        'lateral or oblique views (the lung-field rule refuses most; see MODEL_CARD.md)',
        'non-chest images and other modalities (CT, MR, US)',
      ],
    },
    limitations: [
      `Trained on ${run.splits['train']!.images} adult radiographs of ${run.splits['train']!.patients} patients (cxr-lung-masks, permissive rows); masks follow V7 Labs' convention (the lung behind the heart included, down to the diaphragm's extent).`,
      'Segments paediatric lungs too: it cannot tell a child from an adult, so an age limit must come from the DICOM header.',
      'A left-right mirrored or grey-inverted chest still gets two plausible lungs (LUNG_FIELD.md); photometric interpretation is handled before it.',
    ],
    input: {
      width: run.parameters.input_size,
      height: run.parameters.input_size,
      channels: 1,
      resize: 'stretch',
      normalisation: {
        kind: 'meanStd',
        mean: [run.parameters.normalisation.mean],
        std: [run.parameters.normalisation.std],
      },
      windowing: { kind: 'voiLut' },
      inputName: 'image',
    },
    // The sigmoid is inside the graph: the output holds probabilities.
    outputs: { scores: 'lungs', activation: 'none' },
    labels: [
      {
        id: 'right-lung',
        code: { scheme: 'SCT', value: '3341006', meaning: 'Right lung structure' },
        threshold: LUNG_FIELD_RULE.threshold,
        alertLevel: 'none',
      },
      {
        id: 'left-lung',
        code: { scheme: 'SCT', value: '44029006', meaning: 'Left lung structure' },
        threshold: LUNG_FIELD_RULE.threshold,
        alertLevel: 'none',
      },
    ],
    explanation: { method: 'none' },
    lineage: {
      trainingDataset: { id: run.dataset.path, version: run.dataset.version },
      recipe: `${run.recipe}@${commit}`,
      parameters,
    },
    validation: [
      ...dice('cxr-lung-masks test split (patient-disjoint)', test, test.merged.n),
      ...(external === undefined
        ? []
        : dice('cxr-lung-masks permissive == 0 rows (external)', external, external.merged.n)),
    ],
  };
  const pkg = await writeModelPackage(packageDir, manifest, {
    'model.onnx': onnx,
    [RECORD]: runText,
  });
  console.log(`wrote ${pkg.dir} (manifest sha256 ${pkg.manifestSha256})`);
}

writeFileSync(join(registry, 'cxr-lungs', cardFile), card());
console.log(`wrote ${join(registry, 'cxr-lungs', cardFile)}`);

/** The card, every number from the package's training record. */
function card(): string {
  const manifest = JSON.parse(
    readFileSync(join(packageDir, 'manifest.json'), 'utf8'),
  ) as ModelManifest;
  const run = JSON.parse(readFileSync(join(packageDir, RECORD), 'utf8')) as LungsRun;
  const f3 = (v: number): string => v.toFixed(3);
  const row = (name: string, d: DiceBySide): string =>
    `| ${name} | ${d.merged.n} | ${f3(d.merged.mean)} | ${f3(d.merged.median)} | ${f3(d.merged.min)} | ${f3(d.merged.p10)} | ${f3(d.right.mean)} | ${f3(d.left.mean)} |`;
  const table = (mode: 'raw' | 'largest'): string[] => [
    '| split | images | both lungs mean | median | min | 10th pct | right mean | left mean |',
    '|---|---|---|---|---|---|---|---|',
    ...Object.entries(run.dice).map(([split, d]) =>
      row(split === 'external_nonpermissive' ? 'external (permissive == 0)' : split, d[mode]),
    ),
  ];
  const r = LUNG_FIELD_RULE;
  return `${[
    `# Model card: ${manifest.name}`,
    '',
    `\`${manifest.id}@${manifest.version}\` · ${manifest.manufacturer} · task: ${manifest.task}`,
    '',
    `Generated by \`tools/package-cxr-lungs.ts\` from \`${manifest.version}/${RECORD}\` (the recipe's run record, sha256 ${manifest.files[RECORD]}). Do not edit by hand: regenerate with \`npx tsx tools/package-cxr-lungs.ts --card-only --version ${manifest.version}${cardFile === 'MODEL_CARD.md' ? '' : ` --card ${cardFile}`}\`.`,
    '',
    '## Intended use',
    '',
    manifest.intendedUse.summary,
    '',
    '**Not for:**',
    '',
    ...manifest.intendedUse.notFor.map((n) => `- ${n}`),
    '',
    '**Known limitations:**',
    '',
    ...manifest.limitations.map((l) => `- ${l}`),
    '',
    '## Data and training',
    '',
    `- Dataset \`${run.dataset.path}\` version \`${run.dataset.version}\`; only the permissive (CC BY) rows are trained on. ${run.external_test.images} images of ${run.external_test.patients} patients (permissive == 0) are only measured, as an external test.`,
    `- Split by patient: ${run.split_rule}. ${Object.entries(run.splits)
      .map(([s, c]) => `${s} ${c.images} images / ${c.patients} patients`)
      .join('; ')}.`,
    `- Network: ${run.parameters.architecture}; ${run.parameters.parameters_count.toLocaleString('en')} parameters. Epoch ${run.parameters.best_epoch} of ${run.parameters.epochs} chosen on the tuning split's Dice.`,
    `- Training time on the project's shared 2-core machine: ${run.train_seconds} s of training, ${run.seconds} s in all (torch ${run.torch_version}).`,
    `- Recipe: \`${manifest.lineage.recipe ?? ''}\`.`,
    '',
    '## Dice',
    '',
    `Rule: ${run.dice_rule}.`,
    '',
    'Every pixel over the threshold:',
    '',
    ...table('raw'),
    '',
    "Only each lung's largest 4-connected component (what the lung-field rule keeps):",
    '',
    ...table('largest'),
    '',
    ...siteSection(run.site_lung_fields),
    '## How it is used (LUNG_FIELD.md, ADRs 0160 and 0161)',
    '',
    `- **Intended-use gate** of lung-field classifiers: each lung's largest component must cover ${r.minArea}–${r.maxArea} of the 256 × 256 grid, have mean probability ≥ ${r.minConfidence}, fill ${r.minFill}–${r.maxFill} of its bounding box; the right lung's centroid left of the image centre and the left lung's right of it, at least ${r.minSeparation} of the width apart. An image that fails is not scored; the coded reason is in analysis.json.`,
    `- **Classifier input**: the box around both lungs plus ${r.margin * 100}% per side, stretched to the classifier's input.`,
    "- **Where the heatmap lies**: the share of the heatmap's energy inside the lung mask (probabilities resized to the image, ≥ 0.5).",
    '',
  ].join('\n')}`;
}

/**
 * The site lung fields the recipe measured (ADR 0162's finding: a field running into the air
 * beside the body reaches the image edge and moves when 2% is cropped off); absent for 1.0.0,
 * whose record predates the measurement.
 */
function siteSection(site: SiteLungFields | null | undefined): string[] {
  if (site === undefined || site === null) return [];
  const f3 = (v: number | null): string => (v === null ? 'n/a' : v.toFixed(3));
  const shift = site.crop_box_shift;
  return [
    `## Lung fields on site images without masks (\`${site.folder}\`)`,
    '',
    `Rule: ${site.rule}.`,
    '',
    '| images | plausible | plausible reaching the edge | plausible after a 2% crop | verdict changed by the crop | box shift mean | median | 90th pct | boxes moved > 5% |',
    '|---|---|---|---|---|---|---|---|---|',
    `| ${site.images} | ${site.plausible} | ${site.plausible_reaching_edge} | ${site.plausible_after_crop_2pct} | ${site.verdict_changed_by_crop_2pct} | ${f3(shift.mean)} | ${f3(shift.median)} | ${f3(shift.p90)} | ${shift.moved_over_5pct} of ${shift.n} |`,
    '',
  ];
}
