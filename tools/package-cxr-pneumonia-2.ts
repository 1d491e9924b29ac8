/**
 * Package cxr-pneumonia 2.0.0 as trained by training/pneumonia_v2.py (issue #11 item 3):
 *
 * 1. models/cxr-pneumonia/2.0.0/: model.onnx, the training record, and a manifest whose input
 *    is the lung field of cxr-lungs@1.0.0 (ADR 0160), whose operating point and validation
 *    entries come from the record, whose parent is 1.2.0, and which carries 1.2.0's
 *    change-control plan for its own successors (not 1.2.0's OOD statistics or drift reference:
 *    those describe 1.2.0's features and inputs).
 * 2. models/cxr-pneumonia/evidence/2.0.0/: training-run.json, pretrain.json and log.txt as
 *    the recipe wrote them.
 * 3. models/cxr-pneumonia/MODEL_CARD-2.0.0-training.md: every number of the recipe's record
 *    (AUC with DeLong CI, ECE and reliability, operating point, sensitivity/specificity,
 *    shortcut probes, CAM peak placement, pointing game, the recipe's robustness, repeated
 *    splits, lung fields, training times), generated, never typed.
 *
 * The commands that measure it through the TypeScript pipeline (localisation with the lung
 * model, robustness, the gate) are in tools/release-cxr-pneumonia-2.sh, which runs this first.
 *
 * 4. With the recipe's repeated site splits (`pneumonia_v2.py --only-repeats`, a second run
 *    from the same pre-trained weights), their repeats.json is copied beside the record and the
 *    card's "Repeated site splits" section is generated from it.
 *
 * Usage: npx tsx tools/package-cxr-pneumonia-2.ts <pneumonia_v2 out dir> [--registry models] [--version 2.0.0]
 *          [--lungs-version 1.0.0]   (the cxr-lungs package whose fields it was trained on)
 *        npx tsx tools/package-cxr-pneumonia-2.ts --card-only [--registry models] [--version 2.0.0]
 *          (the card again from evidence/<version>/, e.g. after repeats.json was added; the
 *          package is not touched)
 */
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { isAbsolute, join, relative, resolve } from 'node:path';
import { writeModelPackage, type ModelManifest } from '../src/inference/models/index.js';

type Json = Record<string, unknown>;
interface Ci {
  auc: number;
  lower: number;
  upper: number;
}
interface SensSpec {
  sensitivity: number;
  specificity: number;
  tp: number;
  positives: number;
  tn: number;
  negatives: number;
  sensitivity_ci: [number, number];
  specificity_ci: [number, number];
}
interface Record2 {
  recipe: string;
  parameters: Json & {
    best_epoch: number;
    epochs: number;
    architecture: string;
    parameters_count: number;
    lung_model_sha256: string;
    /** The lung model's ONNX beside its weights (2.1.0 on). */
    lung_model_onnx_sha256?: string | null;
    /** pneumonia_v2.py --edge-guard: the lung fields it trained on were edge-guarded (0: not). */
    edge_guard?: number;
  };
  datasets: {
    kermany: { version: string; images: number };
    site: { version: string; images: number };
  };
  lung_fields: Json & {
    site_plausible: number;
    site_images: number;
    kermany_plausible: number;
    kermany_images: number;
    site_implausible_images: string[];
    seconds: number;
  };
  pretraining: Json & { train_seconds?: number; best_epoch?: number };
  site_split: {
    file: string;
    rule: string;
    seed: number;
    counts: Record<string, { images: number; positive: number }>;
    reproduced_by_rule: boolean;
  };
  finetune_seconds: number;
  calibration: { method: string; a: number; c: number };
  evaluation: {
    test_auc: Ci;
    tuning_auc: number;
    threshold: number;
    threshold_rule: string;
    at_threshold_tuning: SensSpec;
    at_threshold_test: SensSpec;
    ece_rule: string;
    ece_tuning: number;
    ece_test: number;
    ece_test_uncalibrated: number;
    reliability_test: Array<Json>;
    test_refused_by_lung_gate: string[];
    test_auc_gate_accepted_only: number;
  };
  test: { images: string[] };
  shortcut_probes: Record<string, number | string>;
  cam: Record<string, unknown>;
  pointing_game: { all: Json; not_in_train_split: Json };
  robustness: Record<string, unknown>;
  repeated_splits: Json & { splits?: Array<Json> };
  seconds: number;
  seconds_to_export: number;
}

const args = process.argv.slice(2);
const option = (name: string, fallback: string): string =>
  args.includes(name) ? args[args.indexOf(name) + 1]! : fallback;
const cardOnly = args.includes('--card-only');
const registry = resolve(option('--registry', 'models'));
const version = option('--version', '2.0.0');
const evidence = join(registry, 'cxr-pneumonia', 'evidence', version);
const trainDir = cardOnly ? evidence : resolve(args[0] ?? 'build/pneu');
const RECORD = 'training-run.json';
const REPEATS = 'repeats.json';

// Python writes NaN for an undefined AUC (a split without both classes); JSON has no NaN.
const runText = readFileSync(join(trainDir, RECORD), 'utf8');
const run = JSON.parse(runText.replace(/\bNaN\b/g, 'null')) as Record2;
const parentDir = join(registry, 'cxr-pneumonia', '1.2.0');
const parent = JSON.parse(readFileSync(join(parentDir, 'manifest.json'), 'utf8')) as ModelManifest;
// The lung model whose fields the recipe trained on (pneumonia_v2.py --lungs): 1.0.0 for
// 2.0.0, 1.1.0 for 2.1.0. A record that names the lung model's ONNX must name this one's.
const lungsVersion = option('--lungs-version', '1.0.0');
const lungs = JSON.parse(
  readFileSync(join(registry, 'cxr-lungs', lungsVersion, 'manifest.json'), 'utf8'),
) as ModelManifest;
const trainedWithLungs = run.parameters.lung_model_onnx_sha256;
if (trainedWithLungs && trainedWithLungs !== lungs.files['model.onnx']) {
  console.error(
    `the record was trained with the lung model ONNX ${trainedWithLungs}, but cxr-lungs@${lungs.version}'s model.onnx is ${lungs.files['model.onnx'] ?? 'missing'} — pass the right --lungs-version`,
  );
  process.exit(2);
}
const commit = execFileSync('git', ['log', '-1', '--format=%H', '--', 'training/pneumonia_v2.py'], {
  encoding: 'utf8',
}).trim();

const e = run.evaluation;
const siteVersion = run.datasets.site.version;
const testSet = 'cxr-site-nih test split (1.2.0 splits.json)';
const parameters: Record<string, string | number | boolean> = {};
for (const [key, value] of Object.entries(run.parameters)) {
  if (
    ['string', 'number', 'boolean'].includes(typeof value) &&
    !['out', 'lungs', 'kermany', 'site', 'pretrained'].includes(key)
  )
    parameters[key] =
      // The split file as the repository names it, not where this checkout happens to lie.
      key === 'site_splits' && typeof value === 'string' && isAbsolute(value)
        ? relative(process.cwd(), value)
        : (value as string | number | boolean);
}
parameters['calibration'] =
  `${run.calibration.method}; a=${run.calibration.a}, c=${run.calibration.c}`;
parameters['threshold_rule'] = e.threshold_rule;
parameters['site_split'] =
  `${run.site_split.file} (${run.site_split.rule}; seed ${run.site_split.seed}; reproduced by the rule: ${run.site_split.reproduced_by_rule})`;
parameters['kermany_dataset'] = run.datasets.kermany.version;

const manifest: Omit<ModelManifest, 'files'> = {
  id: 'cxr-pneumonia',
  version,
  name: 'Radiolens CXR pneumonia 2, lung-field CNN (cxr-site-nih)',
  task: 'classification',
  manufacturer: parent.manufacturer,
  intendedUse: {
    ...parent.intendedUse,
    summary:
      'Second reader that flags pneumonia on frontal (PA/AP) chest radiographs of ADULTS for review by a radiologist. ' +
      `Research use; not a diagnosis. Sees only the lung field found by cxr-lungs@${lungs.version} (images without two plausible ` +
      'lungs are not scored); pre-trained on paediatric radiographs (Kermany), then the whole network adapted to adult ' +
      'site data (NIH ChestX-ray8). Confirm its performance on your own site with radiolens validate before use.',
    notFor: [
      'children: the lung-field gate does not refuse them (the lung model segments paediatric lungs); the age limit comes from the header and the reader',
      ...parent.intendedUse.notFor.filter((n) => !n.startsWith('children')),
    ],
  },
  limitations: [
    `Adapted on ${run.site_split.counts['train']?.images ?? '?'} images of one adult site (cxr-site-nih), threshold and calibration on ${run.site_split.counts['tuning']?.images ?? '?'} more; its performance elsewhere must be shown there.`,
    'Training labels are image-level (pneumonia vs normal); the heatmap shows what drove the score, not a delineation of the consolidation.',
    'Pneumonia vs no finding only: radiographs with other abnormalities were not in the training data and may be scored unpredictably.',
    `Depends on cxr-lungs@${lungs.version} (${lungs.files['model.onnx'] ?? ''}): a mirrored or grey-inverted film still gets a lung field; photometric interpretation must be right before it.`,
  ],
  input: {
    width: 224,
    height: 224,
    channels: 1,
    resize: 'stretch',
    normalisation: { kind: 'meanStd', mean: [0.5], std: [0.25] },
    // The recipe's images are 8-bit PNGs seen as stored, so a DICOM without a window gets the
    // stored range (ADR 0027); 2.0.0 was packaged without it and republished as 2.0.1.
    windowing:
      version === '2.0.0'
        ? (parent.input.windowing ?? { kind: 'voiLut' })
        : { kind: 'voiLut', fallback: 'minMax' },
    // A recipe run with --edge-guard trained on edge-guarded lung fields (LUNG_FIELD.md step
    // 2b): the package asks the pipeline for the same fields (ADR 0165).
    region: {
      kind: 'lungField',
      model: { id: 'cxr-lungs', version: lungs.version },
      ...(run.parameters.edge_guard ? { edgeGuard: { inset: run.parameters.edge_guard } } : {}),
    },
    inputName: 'image',
  },
  // Platt scaling is folded into the head: the scores output is the calibrated probability.
  outputs: { scores: 'scores', activation: 'none', features: 'features' },
  labels: [{ ...parent.labels[0]!, threshold: e.threshold }],
  explanation: {
    method: 'cam',
    headWeight: 'net.head.weight',
    headWeightLayout: 'classByChannel',
    headBias: 'net.head.bias',
  },
  lineage: {
    trainingDataset: { id: 'cxr-site-nih', version: siteVersion },
    recipe: `${run.recipe}@${commit}`,
    parameters,
    parent: { id: 'cxr-pneumonia', version: '1.2.0' },
  },
  validation: [
    {
      dataset: testSet,
      datasetVersion: siteVersion,
      label: 'pneumonia',
      metric: 'auc',
      value: e.test_auc.auc,
      ci: { lower: e.test_auc.lower, upper: e.test_auc.upper, level: 0.95 },
      n: run.test.images.length,
    },
    {
      dataset: testSet,
      datasetVersion: siteVersion,
      label: 'pneumonia',
      metric: 'sensitivity at threshold',
      value: e.at_threshold_test.sensitivity,
      ci: {
        lower: e.at_threshold_test.sensitivity_ci[0],
        upper: e.at_threshold_test.sensitivity_ci[1],
        level: 0.95,
      },
      n: e.at_threshold_test.positives,
    },
    {
      dataset: testSet,
      datasetVersion: siteVersion,
      label: 'pneumonia',
      metric: 'specificity at threshold',
      value: e.at_threshold_test.specificity,
      ci: {
        lower: e.at_threshold_test.specificity_ci[0],
        upper: e.at_threshold_test.specificity_ci[1],
        level: 0.95,
      },
      n: e.at_threshold_test.negatives,
    },
    {
      dataset: testSet,
      datasetVersion: siteVersion,
      label: 'pneumonia',
      metric: 'ece (10 equal-width bins)',
      value: e.ece_test,
      n: run.test.images.length,
    },
  ],
  ...(parent.changeControl === undefined ? {} : { changeControl: parent.changeControl }),
};

// The recipe that wrote the record: this commit's when packaging, the package's own when only
// the card is made again.
const recipe = cardOnly
  ? (
      JSON.parse(
        readFileSync(join(registry, 'cxr-pneumonia', version, 'manifest.json'), 'utf8'),
      ) as ModelManifest
    ).lineage!.recipe
  : manifest.lineage!.recipe;
if (!cardOnly) {
  const onnx = readFileSync(join(trainDir, `cxr-pneumonia-${version}.onnx`));
  const pkg = await writeModelPackage(join(registry, 'cxr-pneumonia', version), manifest, {
    'model.onnx': onnx,
    [RECORD]: runText,
  });
  console.log(`wrote ${pkg.dir} (manifest sha256 ${pkg.manifestSha256})`);
  mkdirSync(evidence, { recursive: true });
  for (const file of [RECORD, 'pretrain.json', 'log.txt', REPEATS]) {
    if (existsSync(join(trainDir, file))) copyFileSync(join(trainDir, file), join(evidence, file));
  }
}
// The repeated splits of the second run (repeats.json) when there is one, else the record's.
const repeatsFile = join(evidence, REPEATS);
const repeated: Json & { splits?: Array<Json> } = existsSync(repeatsFile)
  ? {
      ...(JSON.parse(readFileSync(repeatsFile, 'utf8').replace(/\bNaN\b/g, 'null')) as Json),
      primary_split_test_auc: run.repeated_splits['primary_split_test_auc'],
    }
  : run.repeated_splits;
const cardPath = join(registry, 'cxr-pneumonia', `MODEL_CARD-${version}-training.md`);
writeFileSync(cardPath, card());
console.log(`wrote ${evidence} and ${cardPath}`);

function card(): string {
  const f3 = (v: unknown): string =>
    typeof v === 'number' && Number.isFinite(v)
      ? Number.isInteger(v)
        ? String(v)
        : v.toFixed(3)
      : 'n/a';
  const pct = (v: unknown): string =>
    typeof v === 'number' && Number.isFinite(v) ? `${(v * 100).toFixed(1)}%` : 'n/a';
  const ci = (c: unknown): string => (Array.isArray(c) ? `${f3(c[0])}–${f3(c[1])}` : 'n/a');
  const ss = (s: SensSpec): string =>
    `sensitivity ${f3(s.sensitivity)} (${s.tp}/${s.positives}, 95% CI ${ci(s.sensitivity_ci)}), specificity ${f3(s.specificity)} (${s.tn}/${s.negatives}, 95% CI ${ci(s.specificity_ci)})`;
  const rows = (o: Record<string, unknown>): string[] =>
    Object.entries(o)
      .filter(([, v]) => typeof v !== 'object' || v === null || Array.isArray(v))
      .map(
        ([k, v]) =>
          `| ${k} | ${Array.isArray(v) ? (v.length > 6 || v.some((x) => typeof x === 'object') ? `${v.length} items` : v.map((x) => (typeof x === 'number' ? f3(x) : String(x))).join(', ')) : typeof v === 'number' ? f3(v) : String(v)} |`,
      );
  const rel = e.reliability_test ?? [];
  const relColumns = [...new Set(rel.flatMap((r) => Object.keys(r)))];
  const robustness = Object.entries(run.robustness).filter(
    ([, v]) => typeof v === 'object' && v !== null,
  ) as Array<[string, Json]>;
  const lines = [
    `# cxr-pneumonia@${version}: the training record`,
    '',
    `Generated by \`tools/package-cxr-pneumonia-2.ts\` from \`evidence/${version}/${RECORD}\`${existsSync(repeatsFile) ? ` and \`evidence/${version}/${REPEATS}\`` : ''} (written by \`${recipe}\`). Every number below is the recipe's own measurement in Python; the TypeScript pipeline's measurements (validate, localisation with cxr-lungs, robustness, the gate against the active version) are separate evidence files (tools/measure-cxr-pneumonia-2.sh). Do not edit by hand.`,
    '',
    '## Site test split (the 1.2.0 split, held out from everything)',
    '',
    `- AUC ${f3(e.test_auc.auc)} (DeLong 95% CI ${f3(e.test_auc.lower)}–${f3(e.test_auc.upper)}), ${run.test.images.length} images; tuning AUC ${f3(e.tuning_auc)}.`,
    `- AUC on the images the lung-field gate accepts: ${f3(e.test_auc_gate_accepted_only)} (refused by the gate: ${e.test_refused_by_lung_gate.length ? e.test_refused_by_lung_gate.join(', ') : 'none'}).`,
    `- Operating point ${f3(e.threshold)}: ${e.threshold_rule}.`,
    `  - tuning: ${ss(e.at_threshold_tuning)}`,
    `  - test: ${ss(e.at_threshold_test)}`,
    `- Calibration: ${run.calibration.method} (a = ${f3(run.calibration.a)}, c = ${f3(run.calibration.c)}). ECE (${e.ece_rule}): test ${f3(e.ece_test)} (target ≤ 0.05; ${e.ece_test <= 0.05 ? 'met' : 'NOT met'}), tuning ${f3(e.ece_tuning)}, test before calibration ${f3(e.ece_test_uncalibrated)}.`,
    '',
    'Reliability (test split):',
    '',
    `| ${relColumns.join(' | ')} |`,
    `|${relColumns.map(() => '---').join('|')}|`,
    ...rel.map(
      (r) =>
        `| ${relColumns.map((c) => (typeof r[c] === 'number' ? f3(r[c]) : r[c] === undefined ? '' : String(r[c]))).join(' | ')} |`,
    ),
    '',
    '## Shortcut probes (AUC on the test split with parts of the input hidden)',
    '',
    '| probe | value |',
    '|---|---|',
    ...rows(run.shortcut_probes),
    '',
    '## Where the evidence lies (CAM peaks on the test split)',
    '',
    '| measure | value |',
    '|---|---|',
    ...rows(run.cam),
    '',
    '## Pointing game on the radiologist boxes (boxes.csv)',
    '',
    '| measure | all boxed images | not in the train split |',
    '|---|---|---|',
    ...Object.keys(run.pointing_game.all).map(
      (k) =>
        `| ${k} | ${Array.isArray(run.pointing_game.all[k]) ? ci(run.pointing_game.all[k]) : f3(run.pointing_game.all[k]) === 'n/a' ? String(run.pointing_game.all[k]) : f3(run.pointing_game.all[k])} | ${Array.isArray(run.pointing_game.not_in_train_split[k]) ? ci(run.pointing_game.not_in_train_split[k]) : f3(run.pointing_game.not_in_train_split[k])} |`,
    ),
    '',
    `## Robustness in the recipe (${String(run.robustness['rule'] ?? '')})`,
    '',
    '| change | mean abs Δp | max abs Δp | flipped decisions | n |',
    '|---|---|---|---|---|',
    ...robustness.map(
      ([name, r]) =>
        `| ${name} | ${f3(r['mean_abs_dp'])} | ${f3(r['max_abs_dp'])} | ${pct(r['flip_rate'])} (${String(r['flips'])}) | ${String(r['n'])} |`,
    ),
    '',
    'Targets: at most 2% flips and mean |Δp| ≤ 0.02.',
    '',
    '## Repeated site splits',
    '',
    '| measure | value |',
    '|---|---|',
    ...rows(repeated),
    '',
    // ECE, sensitivity/specificity and CAM peaks per split since ADR 0166 (2.0.0's repeats: n/a).
    '| split seed | test AUC | tuning AUC | best epoch | seconds | test ECE | sensitivity | specificity | CAM peaks in the lungs |',
    '|---|---|---|---|---|---|---|---|---|',
    ...(repeated.splits ?? []).map(
      (r) =>
        `| ${String(r['split_seed'])} | ${f3(r['test_auc'])} | ${f3(r['tuning_auc'])} | ${String(r['best_epoch'])} | ${String(r['train_seconds'])} | ${f3(r['ece_test'])} | ${f3(r['sensitivity_test'])} | ${f3(r['specificity_test'])} | ${f3(r['peak_in_lung_mask'])} |`,
    ),
    ...repeatsPretraining(),
    '',
    '## Lung fields and training',
    '',
    `- Lung fields (cxr-lungs, sha256 ${run.parameters.lung_model_sha256}${run.parameters.edge_guard ? `; edge-guarded, inset ${run.parameters.edge_guard} (LUNG_FIELD.md step 2b)` : ''}): site ${run.lung_fields.site_plausible}/${run.lung_fields.site_images} plausible, Kermany ${run.lung_fields.kermany_plausible}/${run.lung_fields.kermany_images}; ${run.lung_fields.seconds} s.`,
    `- Network: ${run.parameters.architecture}; ${run.parameters.parameters_count.toLocaleString('en')} parameters; epoch ${run.parameters.best_epoch} of ${run.parameters.epochs} chosen on tuning.`,
    `- Training time on the shared 2-core machine: pre-training ${String(run.pretraining.train_seconds ?? 'n/a')} s, site fine-tuning ${run.finetune_seconds} s, to export ${run.seconds_to_export} s, whole run ${run.seconds} s.`,
    '',
  ];
  return `${lines.join('\n')}`;
}

/**
 * Where the repeated splits' pre-trained weights came from: a second run of the recipe
 * pre-trains again unless given --pretrained; its pretrain record (repeats-pretrain.json) is
 * compared with the release's, epoch by epoch, so the card says whether the repeats start from
 * the very weights 2.0.0 was fine-tuned from.
 */
function repeatsPretraining(): string[] {
  const file = join(evidence, 'repeats-pretrain.json');
  const releaseFile = join(evidence, 'pretrain.json');
  if (!existsSync(file) || !existsSync(releaseFile)) return [];
  type Pretrain = { history: Array<{ train_loss: number }>; kermany_test_auc: number };
  const again = JSON.parse(readFileSync(file, 'utf8')) as Pretrain;
  const release = JSON.parse(readFileSync(releaseFile, 'utf8')) as Pretrain;
  const same =
    again.kermany_test_auc === release.kermany_test_auc &&
    again.history.length === release.history.length &&
    again.history.every((h, i) => h.train_loss === release.history[i]!.train_loss);
  return [
    '',
    same
      ? `The repeats were pre-trained again in their own run (\`repeats-pretrain.json\`): every epoch's training loss and the Kermany test AUC (${again.kermany_test_auc}) equal the release's \`pretrain.json\` exactly, so every split above starts from the weights 2.0.0 was fine-tuned from.`
      : `The repeats were pre-trained again in their own run (\`repeats-pretrain.json\`), and that pre-training differs from the release's \`pretrain.json\` (Kermany test AUC ${again.kermany_test_auc} vs ${release.kermany_test_auc}): the splits above do not start from 2.0.0's weights.`,
  ];
}
