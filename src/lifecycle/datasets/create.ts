/**
 * `dataset create`: de-identify a selection and store it as a content-addressed, versioned
 * dataset:
 *   <dir>/objects/<aa>/<sha256>.dcm     each de-identified instance, named by its hash
 *   <dir>/manifests/<version>.json     the manifest; version = SHA-256 of the manifest
 * Objects are shared between versions; a manifest is never rewritten once written.
 */
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { RadiolensError, writeFileAtomic } from '../../foundation/core/index.js';
import {
  BASIC_PROFILE_CODE,
  deidentifyFiles,
  OPTION_CODES,
  TABLE_E1_1_EDITION,
  type DeidBatchReport,
  type DeidConfig,
  type InstanceSink,
  type ReidentificationMap,
} from '../deid/index.js';
import type { LabelTable } from './labels.js';
import {
  canonicalJson,
  datasetVersion,
  MANIFEST_SCHEMA,
  parseManifest,
  type DatasetManifest,
} from './manifest.js';

export function objectPath(datasetDir: string, sha256: string): string {
  return join(datasetDir, 'objects', sha256.slice(0, 2), `${sha256}.dcm`);
}

/** Store by content: an object already present (same hash) is not written again. */
export function contentAddressedSink(datasetDir: string): InstanceSink {
  return async (bytes, ids) => {
    const path = objectPath(datasetDir, ids.sha256);
    const exists = await stat(path).then(
      () => true,
      () => false,
    );
    if (!exists) await writeFileAtomic(path, bytes);
    return path;
  };
}

export interface CreateDatasetRequest {
  readonly name: string;
  readonly files: readonly string[];
  readonly root: string;
  readonly datasetDir: string;
  readonly config: DeidConfig;
  readonly labels?: LabelTable;
  readonly map?: ReidentificationMap;
  readonly onProgress?: (done: number, total: number, file: string) => void;
}

export interface CreatedDataset {
  readonly version: string;
  readonly manifestPath: string;
  readonly manifest: DatasetManifest;
  readonly report: DeidBatchReport;
}

export async function createDataset(request: CreateDatasetRequest): Promise<CreatedDataset> {
  const report = await deidentifyFiles(request.files, request.config, {
    sink: contentAddressedSink(request.datasetDir),
    root: request.root,
    ...(request.map === undefined ? {} : { map: request.map }),
    ...(request.onProgress === undefined ? {} : { onProgress: request.onProgress }),
  });
  const options = [...request.config.options].sort();
  const instances = report.instances
    .map((i) => ({
      sha256: i.sha256,
      size: i.size,
      sopClassUid: i.sopClassUid,
      sopInstanceUid: i.sopInstanceUid,
      seriesInstanceUid: i.seriesInstanceUid,
      studyInstanceUid: i.studyInstanceUid,
      modality: i.modality,
      labels: {
        ...(request.labels?.get(i.originalSopInstanceUid) ?? {}),
        ...(request.labels?.get(i.source) ?? {}),
      },
    }))
    // Same content twice (e.g. a file copied) is one instance.
    .filter((i, n, all) => all.findIndex((j) => j.sha256 === i.sha256) === n)
    .sort((a, b) => (a.sha256 < b.sha256 ? -1 : 1));
  const manifest: DatasetManifest = {
    schema: MANIFEST_SCHEMA,
    name: request.name,
    deidentification: {
      profile: 'PS3.15 Annex E Basic Application Level Confidentiality Profile',
      tableEdition: TABLE_E1_1_EDITION,
      options,
      methodCodes: [
        BASIC_PROFILE_CODE.codeValue,
        ...options.map((o) => OPTION_CODES[o as keyof typeof OPTION_CODES].codeValue),
      ],
    },
    instances,
    excluded: { quarantined: report.quarantined.length, failed: report.errors.length },
  };
  const version = datasetVersion(manifest);
  const manifestPath = join(request.datasetDir, 'manifests', `${version}.json`);
  await writeFileAtomic(
    manifestPath,
    `${JSON.stringify(JSON.parse(canonicalJson(manifest)), null, 2)}\n`,
  );
  return { version, manifestPath, manifest, report };
}

/**
 * Check a dataset version: the manifest hashes to its name and every object hashes to the
 * value the manifest records. Returns the manifest; throws naming the first mismatch.
 */
export async function verifyDataset(datasetDir: string, version: string): Promise<DatasetManifest> {
  const path = join(datasetDir, 'manifests', `${version}.json`);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (cause) {
    throw new RadiolensError('E_DATASET_INVALID', `no manifest ${path} — is the version right?`, {
      subject: path,
      cause,
    });
  }
  const manifest = parseManifest(JSON.parse(text), path);
  if (datasetVersion(manifest) !== version) {
    throw new RadiolensError(
      'E_DATASET_INVALID',
      `${path} does not hash to its version — the manifest was edited; restore it`,
      { subject: path },
    );
  }
  for (const instance of manifest.instances) {
    const object = objectPath(datasetDir, instance.sha256);
    const bytes = await readFile(object).catch((cause: unknown) => {
      throw new RadiolensError('E_DATASET_INVALID', `${object} is missing from the dataset`, {
        subject: object,
        cause,
      });
    });
    if (createHash('sha256').update(bytes).digest('hex') !== instance.sha256) {
      throw new RadiolensError(
        'E_DATASET_INVALID',
        `${object} does not match its hash — the object was altered; restore it`,
        { subject: object },
      );
    }
  }
  return manifest;
}
