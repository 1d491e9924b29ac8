/**
 * QIDO-RS (PS3.18 §10.6) to find the study, WADO-RS (§10.4) to retrieve it as
 * multipart/related; type="application/dicom" with transfer-syntax=* so the server sends the
 * instances as it holds them instead of transcoding to Explicit VR Little Endian (ADR 0106).
 */
import {
  RadiolensError,
  describeError,
  isRadiolensError,
  isValidUid,
} from '../../foundation/core/index.js';
import { parseMediaType } from '../../foundation/dicomweb/index.js';
import {
  DelimiterScanner,
  boundaryOf,
  openSpoolFile,
  readSpooledPart,
  removeSpoolFile,
  splitSpooledBody,
  spoolPath,
  spoolWebStream,
} from '../spool/index.js';
import type { StudyMatch, StudyQuery } from './query.js';

const TAG_STUDY_INSTANCE_UID = '0020000D';
const TAG_ACCESSION_NUMBER = '00080050';
const TAG_SOP_CLASSES_IN_STUDY = '00080062';
const TAG_NUMBER_OF_STUDY_RELATED_INSTANCES = '00201208';

type DicomJson = Record<string, { vr?: string; Value?: unknown[] } | undefined>;

async function request(
  url: string,
  accept: string,
  timeoutMs: number,
  headers: Readonly<Record<string, string>> = {},
): Promise<Response> {
  const where = new URL(url).origin;
  let response: Response;
  try {
    response = await fetch(url, {
      headers: { ...headers, accept },
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch (cause) {
    const reason =
      cause instanceof Error && cause.cause instanceof Error
        ? cause.cause.message
        : describeError(cause);
    throw new RadiolensError(
      'E_PEER',
      `DICOMweb server ${where} cannot be reached or dropped the connection: ${reason} — check the --from URL and that the server is up`,
      { cause },
    );
  }
  return response;
}

async function failure(response: Response, what: string): Promise<RadiolensError> {
  const text = (await response.text().catch(() => '')).slice(0, 200).replace(/\s+/g, ' ');
  return new RadiolensError(
    'E_PEER',
    `DICOMweb server ${new URL(response.url).origin} answered the ${what} with HTTP ${response.status}${text ? ` (${text})` : ''}`,
  );
}

function firstString(entry: DicomJson, tag: string): string {
  const value = entry[tag]?.Value?.[0];
  return typeof value === 'string' ? value.trim() : '';
}

export async function findStudiesQido(
  baseUrl: string,
  query: StudyQuery,
  options: { timeoutMs?: number } = {},
): Promise<StudyMatch[]> {
  const params = new URLSearchParams();
  if ('studyInstanceUid' in query) params.set('StudyInstanceUID', query.studyInstanceUid);
  else params.set('AccessionNumber', query.accessionNumber);
  params.append('includefield', TAG_SOP_CLASSES_IN_STUDY);
  params.append('includefield', TAG_NUMBER_OF_STUDY_RELATED_INSTANCES);
  const response = await request(
    `${baseUrl}/studies?${params.toString()}`,
    'application/dicom+json',
    options.timeoutMs ?? 60_000,
  );
  if (response.status === 204) return [];
  if (!response.ok) throw await failure(response, 'QIDO-RS study search');
  let body: unknown;
  try {
    body = await response.json();
  } catch (cause) {
    throw new RadiolensError('E_PEER', 'the QIDO-RS answer is not JSON', { cause });
  }
  if (!Array.isArray(body)) {
    throw new RadiolensError('E_PEER', 'the QIDO-RS answer is not a JSON array of studies');
  }
  const matches = new Map<string, StudyMatch>();
  for (const entry of body as DicomJson[]) {
    const uid = firstString(entry, TAG_STUDY_INSTANCE_UID);
    if (!isValidUid(uid) || matches.has(uid)) continue;
    // Keep only exact answers: a server may match fuzzily or by wildcard.
    if ('studyInstanceUid' in query && uid !== query.studyInstanceUid) continue;
    if (
      'accessionNumber' in query &&
      firstString(entry, TAG_ACCESSION_NUMBER) !== query.accessionNumber.trim()
    ) {
      continue;
    }
    const classes = (entry[TAG_SOP_CLASSES_IN_STUDY]?.Value ?? []).filter(
      (v): v is string => typeof v === 'string' && isValidUid(v),
    );
    const count = Number(entry[TAG_NUMBER_OF_STUDY_RELATED_INSTANCES]?.Value?.[0]);
    matches.set(uid, {
      studyInstanceUid: uid,
      sopClassUids: classes,
      instanceCount: Number.isInteger(count) ? count : null,
    });
  }
  return [...matches.values()];
}

/** 64 GiB: the most one WADO-RS answer may bring; it goes to disk, never whole into memory. */
export const DEFAULT_MAX_WADO_RESPONSE_BYTES = 64 * 1024 * 1024 * 1024;

/**
 * Every instance of the study, each Part 10 file exactly as the server sent it, handed to
 * `onInstance` one at a time. The answer is spooled to a file in `spoolDir` and split from
 * there (issue #16, ADR 0132): a study of several GB costs one instance of memory.
 */
export async function retrieveStudyWado(
  baseUrl: string,
  studyInstanceUid: string,
  options: {
    timeoutMs?: number;
    spoolDir: string;
    maxBytes?: number;
    /** Extra request headers: basic auth to the shared DICOM store (ADR 0187). */
    headers?: Readonly<Record<string, string>>;
    onInstance: (bytes: Uint8Array, partNumber: number) => Promise<void>;
  },
): Promise<number> {
  const response = await request(
    `${baseUrl}/studies/${encodeURIComponent(studyInstanceUid)}`,
    'multipart/related; type="application/dicom"; transfer-syntax=*',
    options.timeoutMs ?? 600_000,
    // Uncompressed: fetch asks for gzip by default, and Orthanc then deflates every instance on
    // the fly — 1 s of its CPU per 8 MiB radiograph, 20× the transfer itself (ADR 0187).
    { 'accept-encoding': 'identity', ...options.headers },
  );
  if (response.status === 404) {
    await response.body?.cancel();
    throw new RadiolensError(
      'E_STUDY_NOT_FOUND',
      `DICOMweb server ${new URL(response.url).origin} has no such study (WADO-RS answered HTTP 404)`,
    );
  }
  if (!response.ok) throw await failure(response, 'WADO-RS study retrieval');
  const contentType = response.headers.get('content-type') ?? '';
  const notMultipart = (cause: unknown): RadiolensError =>
    new RadiolensError(
      'E_PEER',
      `the WADO-RS answer is not a complete multipart/related body: ${describeError(cause)}`,
      { cause },
    );
  let scanner: DelimiterScanner;
  try {
    scanner = new DelimiterScanner(boundaryOf(contentType));
  } catch (cause) {
    await response.body?.cancel();
    throw notMultipart(cause);
  }
  const path = spoolPath(options.spoolDir, 'wado');
  const file = await openSpoolFile(path);
  try {
    let size: number;
    try {
      size =
        response.body === null
          ? 0
          : await spoolWebStream(
              response.body,
              file,
              scanner,
              options.maxBytes ?? DEFAULT_MAX_WADO_RESPONSE_BYTES,
            );
    } catch (cause) {
      if (isRadiolensError(cause)) throw cause;
      throw new RadiolensError(
        'E_PEER',
        `DICOMweb server ${new URL(response.url).origin} dropped the connection during the WADO-RS retrieval: ${describeError(cause)}`,
        { cause },
      );
    }
    let segments;
    try {
      segments = await splitSpooledBody(file, size, scanner);
    } catch (cause) {
      throw notMultipart(cause);
    }
    for (const [index, segment] of segments.entries()) {
      let part;
      try {
        part = await readSpooledPart(file, segment, index + 1);
      } catch (cause) {
        throw notMultipart(cause);
      }
      const type = parseMediaType(part.headers['content-type'] ?? 'application/octet-stream');
      if (type.mediaType !== 'application/dicom') {
        throw new RadiolensError(
          'E_PEER',
          `part ${index + 1} of the WADO-RS answer is ${type.mediaType}, not application/dicom`,
        );
      }
      await options.onInstance(part.body, index + 1);
    }
    return segments.length;
  } finally {
    await removeSpoolFile(file, path);
  }
}
