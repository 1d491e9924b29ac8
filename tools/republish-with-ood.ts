/**
 * Republish a cxr-pneumonia version as a new version that ships out-of-distribution statistics
 * with their measured meaning (ADRs 0080, 0086, 0167): every file is copied byte for byte and
 * `ood.json` is added — the file `radiolens ood evaluate --stats … --meaning-out` wrote, so the
 * caveat on a flagged finding quotes what the flag was shown to mean. The statistics must have
 * been fitted on this version's model.onnx; the new package is loaded and its statistics
 * checked after the write.
 *
 * Made 2.0.3 from 2.0.2 (ADR 0167).
 *
 * Usage: npx tsx tools/republish-with-ood.ts --from <version> --to <version>
 *          --stats <ood.json with meaning> --why "<what was measured>" [--registry models]
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { loadPackageOodStatistics, parseOodStatistics } from '../src/inference/ood/index.js';
import { loadRepublished, republish } from './republishPackage.js';

const { values } = parseArgs({
  options: {
    from: { type: 'string' },
    to: { type: 'string' },
    stats: { type: 'string' },
    why: { type: 'string' },
    registry: { type: 'string', default: 'models' },
  },
});
if (
  values.from === undefined ||
  values.to === undefined ||
  values.stats === undefined ||
  values.why === undefined
) {
  throw new Error(
    'usage: republish-with-ood.ts --from <version> --to <version> --stats <ood.json> --why "<text>"',
  );
}
const text = readFileSync(resolve(values.stats), 'utf8');
const stats = parseOodStatistics(text, values.stats);
if (stats.meaning === undefined) {
  // ADR 0086: a flag ships only with what it was shown to mean.
  throw new Error(
    `${values.stats} carries no measured meaning: write it with ood evaluate --meaning-out`,
  );
}
const target = { registry: values.registry, id: 'cxr-pneumonia', from: values.from };
const from = await loadRepublished(target);
if (from.manifest.ood !== undefined) {
  throw new Error(
    `cxr-pneumonia@${values.from} already ships OOD statistics (${from.manifest.ood.file})`,
  );
}
if (stats.model.onnxSha256 !== from.manifest.files['model.onnx']) {
  throw new Error(
    `${values.stats} was fitted on another model.onnx than cxr-pneumonia@${values.from}'s`,
  );
}
const pkg = await republish({
  ...target,
  to: values.to,
  why: `OOD statistics added with their measured meaning (ADR 0167) — ${values.why}`,
  edit: (m) => ({
    ...m,
    ood: {
      file: 'ood.json',
      method: 'mahalanobis-ledoit-wolf',
      threshold: stats.threshold,
      percentile: stats.percentile,
    },
  }),
  add: { 'ood.json': text },
});
const shipped = await loadPackageOodStatistics(pkg);
console.log(
  `ood.json: fitted on ${shipped!.fitCount} images, threshold ${shipped!.threshold.toFixed(3)}, meaning measured ${shipped!.meaning!.measuredAt}`,
);
