/**
 * Issue #11 item 9, recipe against recipe: is the 2.x recipe (pneumonia_v2.py: the whole
 * lung-field network adapted to the site) worse than the 1.x recipe (cxr-pneumonia 1.0.0's
 * network with its linear head re-fitted on the site, `radiolens finetune`: 1.1.0, 1.2.0 and
 * 1.2.1 are its seed-1 run), over the same patient-level site splits? The change-control gate
 * compares two *models* on one locked test split of 118 images, and that split is at the lucky
 * end for both recipes (ADR 0162); this compares the *recipes* split by split on the same
 * patients, ADR 0168.
 *
 * For each split seed of a pneumonia_v2.py record (the primary split, seed 1, from
 * training-run.json; the repeats, seeds 2–6, from repeats.json) the 1.x recipe is run for that
 * seed — `finetuneHead` on 1.0.0, into a scratch registry — and its test images scored through
 * the product's pipeline (scoreImages); its scores are paired image by image with the record's
 * test scores for the same seed, and the two AUCs compared by the paired clustered DeLong test
 * (Obuchowski; patients are clusters). Images either recipe did not score are left out and
 * counted. The split rule is the same code (src/finetune/patientSplit.ts) in both recipes; each
 * seed's test images are checked to be the record's, image for image.
 *
 * Usage: RADIOLENS_SHARED_DIR=… npx tsx tools/compare-recipes-over-splits.ts
 *          --recipe "<name>=<training-run.json>,<repeats.json>" [--recipe …]
 *          --out <evidence.json> [--registry models]
 */
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { ModelRegistry } from '../src/inference/models/index.js';
import { scoreImages } from '../src/inference/analysis/index.js';
import { finetuneHead } from '../src/lifecycle/finetune/index.js';
import { clusteredDelongTest, readValidationLabels } from '../src/lifecycle/validation/index.js';
import { SITE_DIR } from '../test/support/siteData.js';

const { values } = parseArgs({
  options: {
    recipe: { type: 'string', multiple: true },
    out: { type: 'string' },
    registry: { type: 'string', default: 'models' },
  },
});
if (values.recipe === undefined || values.out === undefined) {
  throw new Error(
    'usage: compare-recipes-over-splits.ts --recipe "<name>=<training-run.json>,<repeats.json>" … --out <file>',
  );
}

/** One split of a pneumonia_v2.py record: its seed, and the test images' scores. */
interface RecordSplit {
  seed: number;
  scores: Map<string, number>;
}

async function recordSplits(record: string, repeats: string): Promise<RecordSplit[]> {
  const run = JSON.parse(await readFile(record, 'utf8')) as {
    site_split: { seed: number };
    test: { images: string[]; scores: number[] };
  };
  const rep = JSON.parse(await readFile(repeats, 'utf8')) as {
    splits: Array<{ split_seed: number; test_images: string[]; test_scores: number[] }>;
  };
  const scored = (images: string[], scores: number[]) =>
    new Map(images.map((image, i) => [resolve(SITE_DIR, image), scores[i]!]));
  return [
    { seed: run.site_split.seed, scores: scored(run.test.images, run.test.scores) },
    ...rep.splits.map((s) => ({
      seed: s.split_seed,
      scores: scored(s.test_images, s.test_scores),
    })),
  ];
}

const recipes = await Promise.all(
  values.recipe.map(async (spec) => {
    const [name, files] = spec.split('=', 2) as [string, string | undefined];
    const [record, repeats] = (files ?? '').split(',');
    if (!record || !repeats)
      throw new Error(`--recipe ${spec}: name=<training-run.json>,<repeats.json>`);
    return { name, record, repeats, splits: await recordSplits(resolve(record), resolve(repeats)) };
  }),
);
const seeds = [...new Set(recipes.flatMap((r) => r.splits.map((s) => s.seed)))].sort(
  (a, b) => a - b,
);

const scratch = await mkdtemp(join(tmpdir(), 'radiolens-recipes-'));
const results: unknown[] = [];
try {
  await cp(
    join(resolve(values.registry), 'cxr-pneumonia', '1.0.0'),
    join(scratch, 'models', 'cxr-pneumonia', '1.0.0'),
    { recursive: true },
  );
  const registry = new ModelRegistry(join(scratch, 'models'));
  for (const seed of seeds) {
    const fit = await finetuneHead({
      registry,
      model: { id: 'cxr-pneumonia', version: '1.0.0' },
      labelsCsv: join(SITE_DIR, 'labels.csv'),
      outVersion: `1.1.${seed}`,
      seed,
      outDir: join(scratch, `seed-${seed}`),
    });
    const test = readValidationLabels(fit.files.testLabels, { labels: ['pneumonia'] });
    const scored = await scoreImages(
      test.map((t) => t.imagePath),
      fit.pkg,
    );
    const oneX = new Map(
      scored.flatMap((s) => (s.scores === null ? [] : [[resolve(s.path), s.scores[0]!] as const])),
    );
    const truth = new Map(test.map((t) => [resolve(t.imagePath), t]));
    for (const recipe of recipes) {
      const split = recipe.splits.find((s) => s.seed === seed);
      if (split === undefined) continue;
      const same =
        split.scores.size === truth.size && [...split.scores.keys()].every((k) => truth.has(k));
      if (!same) {
        throw new Error(
          `seed ${seed}: ${recipe.name}'s test split (${split.scores.size} images) is not the one finetune makes (${truth.size}) — not the same split rule`,
        );
      }
      const paired = [...truth.keys()].filter((k) => oneX.has(k) && split.scores.has(k));
      const cmp = clusteredDelongTest(
        paired.map((k) => truth.get(k)!.truth['pneumonia']!),
        paired.map((k) => split.scores.get(k)!),
        paired.map((k) => oneX.get(k)!),
        paired.map((k) => truth.get(k)!.patient ?? k),
      );
      const row = {
        seed,
        recipe: recipe.name,
        testImages: truth.size,
        paired: paired.length,
        notScoredBy1x: [...truth.keys()].filter((k) => !oneX.has(k)).length,
        patients: cmp.clusters,
        auc2x: cmp.aucA,
        auc1x: cmp.aucB,
        difference: cmp.difference,
        ci: cmp.ci,
        p: cmp.p,
        method: cmp.method,
        oneXThreshold: fit.pkg.manifest.labels[0]!.threshold,
      };
      results.push(row);
      console.log(
        `seed ${seed}  ${recipe.name}: AUC ${cmp.aucA.toFixed(3)} vs 1.x recipe ${cmp.aucB.toFixed(3)}, difference ${cmp.difference.toFixed(3)} (${cmp.ci[0].toFixed(3)} to ${cmp.ci[1].toFixed(3)}), p = ${cmp.p.toFixed(3)}, ${paired.length} images, ${cmp.clusters} patients`,
      );
    }
  }
} finally {
  await rm(scratch, { recursive: true, force: true });
}

type Row = { recipe: string; seed: number; difference: number; auc2x: number; auc1x: number };
const summary = recipes.map((recipe) => {
  const rows = (results as Row[]).filter((r) => r.recipe === recipe.name);
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  const sd = (xs: number[]) => {
    const m = mean(xs);
    return Math.sqrt(xs.reduce((a, b) => a + (b - m) ** 2, 0) / (xs.length - 1));
  };
  const d = rows.map((r) => r.difference);
  return {
    recipe: recipe.name,
    splits: rows.length,
    auc2xMean: mean(rows.map((r) => r.auc2x)),
    auc1xMean: mean(rows.map((r) => r.auc1x)),
    differenceMean: mean(d),
    differenceSd: sd(d),
    differenceMin: Math.min(...d),
    differenceMax: Math.max(...d),
    splitsWhere2xNotLower: d.filter((x) => x >= 0).length,
  };
});
for (const s of summary) {
  console.log(
    `${s.recipe}: over ${s.splits} splits AUC ${s.auc2xMean.toFixed(3)} vs 1.x recipe ${s.auc1xMean.toFixed(3)}; difference mean ${s.differenceMean.toFixed(3)} (SD ${s.differenceSd.toFixed(3)}, ${s.differenceMin.toFixed(3)} to ${s.differenceMax.toFixed(3)}), not lower in ${s.splitsWhere2xNotLower} of ${s.splits}`,
  );
}
await writeFile(
  resolve(values.out),
  `${JSON.stringify(
    {
      schema: 'radiolens.recipe-comparison/1',
      generatedAt: new Date().toISOString(),
      oneXRecipe:
        'cxr-pneumonia@1.0.0 network, linear head re-fitted by radiolens finetune (defaults: L2 grid, sensitivity 0.90 on tuning) for each split seed; 1.1.0/1.2.x are its seed-1 run',
      recipes: recipes.map((r) => ({ name: r.name, record: r.record, repeats: r.repeats })),
      splits: results,
      summary,
      note: 'Splits share patients, so the per-split tests are not independent: the spread over splits is reported, not a pooled test.',
    },
    null,
    2,
  )}\n`,
);
console.log(`wrote ${values.out}`);
