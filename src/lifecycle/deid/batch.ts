/**
 * De-identify many files: one result per input file (written, quarantined with its reason,
 * or failed with its error), outputs written atomically, links recorded in the map.
 */
import { createHash } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { join, relative } from 'node:path';
import {
  describeError,
  filesUnder,
  isRadiolensError,
  RadiolensError,
  writeFileAtomic,
} from '../../foundation/core/index.js';
import { deidentifyBytes, type ActionCounts, type DeidConfig } from './deidentify.js';
import { stringValue } from './dicomIo.js';
import type { ReidentificationMap } from './reidMap.js';

/** Identity of one written, de-identified instance (pseudonymous UIDs only). */
export interface DeidentifiedInstance {
  readonly source: string;
  readonly output: string;
  readonly sha256: string;
  readonly size: number;
  readonly sopClassUid: string;
  readonly sopInstanceUid: string;
  readonly seriesInstanceUid: string;
  readonly studyInstanceUid: string;
  readonly modality: string;
  /** Original SOP Instance UID, for joining labels; never written into outputs. */
  readonly originalSopInstanceUid: string;
}

export interface DeidBatchReport {
  readonly instances: DeidentifiedInstance[];
  readonly quarantined: { readonly file: string; readonly reason: string }[];
  readonly errors: { readonly file: string; readonly code: string; readonly message: string }[];
  readonly counts: ActionCounts;
  bytesIn: number;
}

/** Where a de-identified object goes; returns the path written. */
export type InstanceSink = (
  bytes: Uint8Array,
  ids: { sha256: string; study: string; series: string; sop: string },
) => Promise<string>;

/** The default layout: <out>/<study>/<series>/<sop>.dcm, with pseudonymous UIDs. */
export function folderSink(outDir: string): InstanceSink {
  return async (bytes, ids) => {
    const path = join(outDir, ids.study, ids.series, `${ids.sop}.dcm`);
    await writeFileAtomic(path, bytes);
    return path;
  };
}

/** Every regular file under `path` (or `path` itself), sorted, hidden files skipped. */
export async function listInputFiles(path: string): Promise<string[]> {
  let info;
  try {
    info = await stat(path);
  } catch (cause) {
    throw new RadiolensError('E_IO', `cannot read input ${path} — check the path`, {
      subject: path,
      cause,
    });
  }
  if (info.isFile()) return [path];
  return filesUnder(path);
}

export interface DeidBatchOptions {
  readonly sink: InstanceSink;
  readonly map?: ReidentificationMap;
  /** Paths in reports are given relative to this root. */
  readonly root?: string;
  readonly onProgress?: (done: number, total: number, file: string) => void;
}

export async function deidentifyFiles(
  files: readonly string[],
  config: DeidConfig,
  options: DeidBatchOptions,
): Promise<DeidBatchReport> {
  const report: DeidBatchReport = {
    instances: [],
    quarantined: [],
    errors: [],
    counts: {},
    bytesIn: 0,
  };
  const name = (file: string): string =>
    options.root === undefined ? file : relative(options.root, file) || file;
  let done = 0;
  for (const file of files) {
    const label = name(file);
    try {
      let bytes: Uint8Array;
      try {
        bytes = await readFile(file);
      } catch (cause) {
        throw new RadiolensError('E_IO', `cannot read ${label} — check permissions`, {
          subject: label,
          cause,
        });
      }
      report.bytesIn += bytes.byteLength;
      const result = deidentifyBytes(bytes, config, label);
      if (result.kind === 'quarantined') {
        report.quarantined.push({ file: label, reason: result.reason });
      } else {
        const dict = result.file.dict;
        const sha256 = createHash('sha256').update(result.bytes).digest('hex');
        const ids = {
          sha256,
          study: stringValue(dict['0020000D']) ?? '',
          series: stringValue(dict['0020000E']) ?? '',
          sop: stringValue(dict['00080018']) ?? '',
        };
        // Map first: an output whose links were not recorded could never be returned.
        await options.map?.record([result.reid], label);
        const output = await options.sink(result.bytes, ids);
        for (const [action, n] of Object.entries(result.counts)) {
          report.counts[action] = (report.counts[action] ?? 0) + n;
        }
        const original = [...result.reid.uids.entries()].find(([, v]) => v === ids.sop)?.[0];
        report.instances.push({
          source: label,
          output,
          sha256,
          size: result.bytes.byteLength,
          sopClassUid: stringValue(dict['00080016']) ?? '',
          sopInstanceUid: ids.sop,
          seriesInstanceUid: ids.series,
          studyInstanceUid: ids.study,
          modality: stringValue(dict['00080060']) ?? '',
          originalSopInstanceUid: original ?? ids.sop,
        });
      }
    } catch (error) {
      report.errors.push({
        file: label,
        code: isRadiolensError(error) ? error.code : 'E_INTERNAL',
        message: describeError(error),
      });
    }
    done += 1;
    options.onProgress?.(done, files.length, label);
  }
  return report;
}
