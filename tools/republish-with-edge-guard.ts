/**
 * Republish a lung-field cxr-pneumonia 2.x as a new version whose lung field has the edge
 * guard (LUNG_FIELD.md step 2b, ADR 0165): only lung that cxr-lungs also finds with `--inset`
 * of the width and height cut off each side is kept, so a lung field that ran into the air
 * beside the body at the image's edge no longer moves the classifier's crop when the image is
 * cropped a little tighter. Every file (model.onnx, the training record) is copied byte for
 * byte; the manifest differs by its version, `input.region.edgeGuard` and its lineage (parent
 * = the old version, `republishedFrom` = why, from `--why`). The network was trained on fields
 * without the guard: the new version's own validation, localisation, robustness and gate runs
 * (tools/measure-cxr-pneumonia-2.sh) measure what that costs; it becomes the default only
 * through the change-control gate.
 *
 * Made 2.0.2 from 2.0.1 (ADR 0165).
 *
 * Usage: npx tsx tools/republish-with-edge-guard.ts --from <version> --to <version>
 *          --inset 0.04 --why "<what was measured>" [--registry models]
 */
import { parseArgs } from 'node:util';
import { loadRepublished, republish } from './republishPackage.js';

const { values } = parseArgs({
  options: {
    from: { type: 'string' },
    to: { type: 'string' },
    inset: { type: 'string' },
    why: { type: 'string' },
    registry: { type: 'string', default: 'models' },
  },
});
if (
  values.from === undefined ||
  values.to === undefined ||
  values.inset === undefined ||
  values.why === undefined
) {
  throw new Error(
    'usage: republish-with-edge-guard.ts --from <version> --to <version> --inset <fraction> --why "<text>"',
  );
}
const inset = Number(values.inset);
const target = { registry: values.registry, id: 'cxr-pneumonia', from: values.from };
const region = (await loadRepublished(target)).manifest.input.region;
if (region === undefined || region.edgeGuard !== undefined) {
  // A whole-image model has no lung field to guard; a guarded one would change by its inset only.
  throw new Error(
    `cxr-pneumonia@${values.from} ${region === undefined ? 'sees the whole image' : `already has an edge guard (${JSON.stringify(region.edgeGuard)})`}; this tool adds one to an unguarded lung-field model`,
  );
}
await republish({
  ...target,
  to: values.to,
  why: `its lung field keeps only lung also found with ${inset} of each side cut off (LUNG_FIELD.md step 2b, ADR 0165) — ${values.why}`,
  // writeModelPackage checks the manifest, so an inset outside (0, 0.25) is refused there.
  edit: (m) => ({ ...m, input: { ...m.input, region: { ...region, edgeGuard: { inset } } } }),
});
