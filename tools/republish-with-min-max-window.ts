/**
 * Republish a cxr-pneumonia version whose manifest declares no window for DICOM images that
 * carry none, as a new version that declares ADR 0027's rule for chest classifiers trained on
 * 8-bit exports: `{"kind": "voiLut", "fallback": "minMax"}`. Every file of the package
 * (model.onnx, splits, records, OOD statistics, drift reference) is copied byte for byte; the
 * manifest differs by its version, its windowing and its lineage (parent = the old version,
 * `republishedFrom` = why, from `--why`). A released version is never edited in place; a
 * correction is a new version whose lineage names the old one, and it becomes the default
 * only through the change-control gate (`radiolens models promote`).
 *
 * Made 2.0.1 from 2.0.0 and 1.2.1 from 1.2.0 (ADR 0027, 0162). The windowing rule does not
 * touch PNG/JPEG inputs, on which the packages' validation entries were measured, so they are
 * carried over; the new version's own robustness run measures the rule (ADR 0027).
 *
 * Usage: npx tsx tools/republish-with-min-max-window.ts --from <version> --to <version>
 *          --why "<what the old version's what-if robustness run showed>" [--registry models]
 */
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import {
  loadModelPackage,
  writeModelPackage,
  type ModelManifest,
} from '../src/inference/models/index.js';

const { values } = parseArgs({
  options: {
    from: { type: 'string' },
    to: { type: 'string' },
    why: { type: 'string' },
    registry: { type: 'string', default: 'models' },
  },
});
if (values.from === undefined || values.to === undefined || values.why === undefined) {
  throw new Error(
    'usage: republish-with-min-max-window.ts --from <version> --to <version> --why "<text>"',
  );
}
const FROM = values.from;
const registry = resolve(values.registry);
const from = await loadModelPackage(join(registry, 'cxr-pneumonia', FROM));
const windowing = from.manifest.input.windowing ?? { kind: 'voiLut' };
if (windowing.kind !== 'voiLut' || windowing.fallback !== undefined) {
  // A version that already declares a fallback would be republished as one that differs from
  // it by nothing but its version.
  throw new Error(
    `cxr-pneumonia@${FROM} declares windowing ${JSON.stringify(windowing)}; this tool adds the minMax fallback to a plain voiLut`,
  );
}

/** `site_splits` as a path in the project when it is an absolute path into a checkout of it. */
function relativeSplits(parameters: Record<string, unknown> | undefined): Record<string, string> {
  const splits = parameters?.['site_splits'];
  if (typeof splits !== 'string' || !splits.startsWith('/')) return {};
  const at = splits.indexOf('/models/cxr-pneumonia/');
  return at < 0 ? {} : { site_splits: splits.slice(at + 1) };
}

/** `a`, `a and b`, `a, b and c`. */
function listed(names: readonly string[]): string {
  return names.length < 2 ? names.join('') : `${names.slice(0, -1).join(', ')} and ${names.at(-1)}`;
}

const { files: copied, ...previous } = from.manifest;
const manifest: Omit<ModelManifest, 'files'> = {
  ...previous,
  version: values.to,
  input: { ...previous.input, windowing: { kind: 'voiLut', fallback: 'minMax' } },
  lineage: {
    ...previous.lineage!,
    parameters: {
      ...previous.lineage!.parameters,
      // 2.0.0's record named its splits by the absolute path of the machine it was trained on;
      // a package names files of the project by their path in it.
      ...relativeSplits(previous.lineage!.parameters),
      republishedFrom: `${FROM}: same ${listed(Object.keys(copied))}; declares the minMax window for DICOM images without one (ADR 0027), which ${FROM} was packaged without — ${values.why}`,
    },
    parent: { id: 'cxr-pneumonia', version: FROM },
  },
};

const files: Record<string, Buffer> = {};
for (const name of Object.keys(copied)) files[name] = readFileSync(join(from.dir, name));
const pkg = await writeModelPackage(join(registry, 'cxr-pneumonia', values.to), manifest, files);
console.log(`wrote ${pkg.dir} (manifest sha256 ${pkg.manifestSha256})`);
