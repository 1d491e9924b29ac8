import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { lstat, readFile } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import { RadiolensError, walkDirectory } from '../../foundation/core/index.js';
import { parseManifest, type ModelManifest } from './manifest.js';

/** A verified model package on disk (ARCHITECTURE.md "The model package contract"). */
export interface ModelPackage {
  dir: string;
  manifest: ModelManifest;
  /** sha256 of manifest.json's bytes: names this exact package in every output (traceability). */
  manifestSha256: string;
  modelPath: string;
}

export const MANIFEST_FILE = 'manifest.json';
export const MODEL_FILE = 'model.onnx';

/**
 * Read, validate and verify a package: the manifest must pass the schema, every listed file
 * must exist with the listed sha256, and no other file may be present. Anything else means the
 * package was altered after it was made (or made wrongly), and running it would put an
 * unknown model's name on clinical output.
 */
export async function loadModelPackage(dir: string): Promise<ModelPackage> {
  const manifestPath = join(dir, MANIFEST_FILE);
  let manifestBytes: Buffer;
  try {
    manifestBytes = await readFile(manifestPath);
  } catch (error) {
    throw new RadiolensError(
      'E_MODEL_NOT_FOUND',
      `no ${MANIFEST_FILE} in ${dir} — is this a model package folder (<model-id>/<version>/)?`,
      { subject: manifestPath, cause: error },
    );
  }
  const manifest = parseManifest(manifestBytes.toString('utf8'), manifestPath);
  await verifyPackageFiles(dir, manifest);
  return {
    dir,
    manifest,
    manifestSha256: sha256(manifestBytes),
    modelPath: join(dir, MODEL_FILE),
  };
}

async function verifyPackageFiles(dir: string, manifest: ModelManifest): Promise<void> {
  const present = await listFiles(dir);
  const problems: { file: string; problem: string }[] = [];
  for (const file of present) {
    if (file !== MANIFEST_FILE && manifest.files[file] === undefined) {
      problems.push({ file, problem: 'is not listed in the manifest' });
    }
  }
  for (const [file, expected] of Object.entries(manifest.files)) {
    if (!present.has(file)) {
      problems.push({ file, problem: 'is listed in the manifest but missing' });
      continue;
    }
    const actual = await sha256File(join(dir, file));
    if (actual !== expected) {
      problems.push({ file, problem: `has sha256 ${actual}, the manifest says ${expected}` });
    }
  }
  if (problems.length > 0) {
    const list = problems.map((p) => `${p.file} ${p.problem}`).join('; ');
    throw new RadiolensError(
      'E_PACKAGE_TAMPERED',
      `model package ${dir} (${manifest.id}@${manifest.version}) does not match its manifest: ${list} — reinstall the package from its source`,
      { subject: join(dir, problems[0]!.file) },
    );
  }
}

/** Relative POSIX paths of every entry under dir; links and special files count as present. */
async function listFiles(dir: string): Promise<Set<string>> {
  const out = new Set<string>();
  for (const entry of await walkDirectory(dir, { hidden: true })) {
    out.add(relative(dir, entry.path).split(sep).join('/'));
  }
  // A symbolic link could point outside the package and change under us; refuse it outright.
  for (const file of out) {
    const info = await lstat(join(dir, file));
    if (!info.isFile()) {
      throw new RadiolensError(
        'E_PACKAGE_TAMPERED',
        `model package ${dir}: ${file} is not a regular file (link or device) — packages hold plain files only`,
        { subject: join(dir, file) },
      );
    }
  }
  return out;
}

export function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

export async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}
