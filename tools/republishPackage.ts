/**
 * A released model version is never edited in place: a correction or an addition is a new
 * version whose files are the old one's, byte for byte, plus what is added, and whose lineage
 * names the old version as its parent and says why (`republishedFrom`). The republish tools
 * (edge guard, OOD statistics) differ only in what they change; this is the rest.
 */
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import {
  loadModelPackage,
  writeModelPackage,
  type ModelManifest,
  type ModelPackage,
} from '../src/inference/models/index.js';

export interface Republication {
  registry: string;
  id: string;
  from: string;
  to: string;
  /** What the new version says of where it comes from, after "<from>: same <files>; ". */
  why: string;
  /** The manifest's changes (version, lineage and the file list are set here). */
  edit: (manifest: Omit<ModelManifest, 'files'>) => Omit<ModelManifest, 'files'>;
  /** Files the new version adds (listed and hashed in its manifest). */
  add?: Record<string, Buffer | string>;
}

export async function loadRepublished(r: Pick<Republication, 'registry' | 'id' | 'from'>) {
  return loadModelPackage(join(resolve(r.registry), r.id, r.from));
}

export async function republish(r: Republication): Promise<ModelPackage> {
  const from = await loadRepublished(r);
  const { files: copied, ...previous } = from.manifest;
  const edited = r.edit(previous);
  const manifest: Omit<ModelManifest, 'files'> = {
    ...edited,
    version: r.to,
    lineage: {
      ...edited.lineage!,
      parameters: {
        ...edited.lineage!.parameters,
        republishedFrom: `${r.from}: same ${Object.keys(copied).join(' and ')}; ${r.why}`,
      },
      parent: { id: r.id, version: r.from },
    },
  };
  const files: Record<string, Buffer | string> = {};
  for (const name of Object.keys(copied)) files[name] = readFileSync(join(from.dir, name));
  for (const [name, content] of Object.entries(r.add ?? {})) {
    if (name in files) throw new Error(`${r.id}@${r.from} already has ${name}`);
    files[name] = content;
  }
  const pkg = await writeModelPackage(join(resolve(r.registry), r.id, r.to), manifest, files);
  console.log(`wrote ${pkg.dir} (manifest sha256 ${pkg.manifestSha256})`);
  return pkg;
}
