/**
 * STOW-RS (PS3.18 §10.5 Studies Store Transaction) on plain node:http, for `POST /studies`
 * and `POST /studies/{study}`. The reply is sent only after every instance of the request
 * is durable in the InstanceStore, so a 200 means what it says (ADR 0109).
 */
import { mkdirSync, readdirSync, rmSync } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { join } from 'node:path';
import {
  RadiolensError,
  describeError,
  diskFull,
  isRadiolensError,
  isValidUid,
  outcomeOf,
} from '../../../foundation/core/index.js';
import { parseDicom } from '../../../foundation/dicom/index.js';
import { parseMediaType, type MultipartPart } from '../../../foundation/dicomweb/index.js';
import {
  DelimiterScanner,
  boundaryOf,
  openSpoolFile,
  readSpooledPart,
  removeSpoolFile,
  splitSpooledBody,
  spoolPath,
  type PartSegment,
} from '../../spool/index.js';
import type { InstanceStore, StoreOutcome } from '../../store/index.js';
import { spoolRequestBody } from './requestBody.js';
import {
  FAILURE_CANNOT_UNDERSTAND,
  FAILURE_DATASET_DOES_NOT_MATCH,
  failureReasonOf,
  storeInstancesResponse,
  storeStatusCode,
  type FailedInstance,
  type ReferencedInstance,
} from './storeResponse.js';

/** 1 GiB: a large CT study in one request; it goes to disk, never whole into memory. */
export const DEFAULT_MAX_STOW_REQUEST_BYTES = 1024 * 1024 * 1024;
/** 512 MiB: one instance is held in memory while it is parsed and stored. */
export const DEFAULT_MAX_STOW_PART_BYTES = 512 * 1024 * 1024;
/** Spooled request bodies, below the data folder (0700). */
export const STOW_SPOOL_FOLDER = 'spool';

const DICOM_MEDIA_TYPE = 'application/dicom';
const ACCEPTED = 'multipart/related; type="application/dicom"; boundary=...';

/** Structured events for logs and metrics. They carry no patient data and no UIDs. */
export type StowEvent =
  | { type: 'stored'; address: string; outcome: StoreOutcome; sha256: string; size: number }
  | { type: 'store-failed'; address: string; part: number; failureReason: number; error: string }
  | { type: 'request-rejected'; address: string; status: number; error: string }
  | { type: 'request-aborted'; address: string; receivedBytes: number }
  | {
      type: 'request-completed';
      address: string;
      status: number;
      stored: number;
      failed: number;
      bytes: number;
      ms: number;
    };

export interface StowRsOptions {
  /** Larger requests are refused with 413 before anything is stored. */
  readonly maxRequestBytes?: number;
  /** A request with a larger part is refused with 413 before anything is stored. */
  readonly maxPartBytes?: number;
  readonly onEvent?: (event: StowEvent) => void;
}

export type StowRsHandler = (
  req: IncomingMessage,
  res: ServerResponse,
  studyInstanceUid?: string,
) => Promise<void>;

/**
 * The path part of a STOW-RS request below the DICOMweb root: `/studies` or
 * `/studies/{uid}` (a trailing slash allowed). Undefined for any other path.
 */
export function matchStowRsPath(pathname: string): { studyInstanceUid?: string } | undefined {
  const match = /^\/studies(?:\/([^/]+))?\/?$/.exec(pathname);
  if (match === null) return undefined;
  const uid = match[1];
  if (uid === undefined) return {};
  try {
    return { studyInstanceUid: decodeURIComponent(uid) };
  } catch {
    return { studyInstanceUid: uid };
  }
}

function sendText(
  res: ServerResponse,
  status: number,
  message: string,
  headers: Record<string, string> = {},
): void {
  const body = Buffer.from(`${message}\n`, 'utf8');
  res.writeHead(status, {
    'content-type': 'text/plain; charset=utf-8',
    'content-length': String(body.length),
    ...headers,
  });
  res.end(body);
}

function mediaTypeOf(header: string): string | undefined {
  try {
    return parseMediaType(header).mediaType;
  } catch {
    return undefined;
  }
}

/** Why the Content-Type is refused, or undefined when it is one STOW-RS accepts here. */
function unsupportedMediaType(header: string | undefined): string | undefined {
  if (header === undefined || header.trim() === '') return 'the request has no Content-Type';
  let parsed;
  try {
    parsed = parseMediaType(header);
  } catch (error) {
    return describeError(error);
  }
  if (parsed.mediaType !== 'multipart/related') {
    return `Content-Type ${parsed.mediaType} is not supported`;
  }
  const type = parsed.parameters['type'];
  if (type === undefined || mediaTypeOf(type) !== DICOM_MEDIA_TYPE) {
    // The metadata + bulk data form (application/dicom+json, +xml) is not implemented.
    return `multipart/related with type=${type ?? '(none)'} is not supported`;
  }
  return undefined;
}

export function createStowRsHandler(
  store: InstanceStore,
  options: StowRsOptions = {},
): StowRsHandler {
  const maxRequestBytes = options.maxRequestBytes ?? DEFAULT_MAX_STOW_REQUEST_BYTES;
  const maxPartBytes = options.maxPartBytes ?? DEFAULT_MAX_STOW_PART_BYTES;
  const emit = (event: StowEvent): void => options.onEvent?.(event);
  const spoolFolder = join(store.dataDir, STOW_SPOOL_FOLDER);
  mkdirSync(spoolFolder, { recursive: true, mode: 0o700 });
  // Spool files left by a crash: one node per data folder (ADR 0116), so none is in use.
  for (const name of readdirSync(spoolFolder)) {
    if (name.endsWith('.spool')) rmSync(join(spoolFolder, name), { force: true });
  }

  return async (req, res, studyInstanceUid) => {
    const started = Date.now();
    const address = req.socket.remoteAddress ?? '';
    let file: FileHandle | undefined;
    let spooled: string | undefined;
    // The spooled copy is removed before any answer: once the client has its answer, no
    // copy of its upload is left on disk.
    const cleanup = async (): Promise<void> => {
      if (spooled === undefined) return;
      const path = spooled;
      spooled = undefined;
      await removeSpoolFile(file, path);
    };
    const refuse = async (
      status: number,
      message: string,
      headers?: Record<string, string>,
    ): Promise<void> => {
      await cleanup();
      emit({ type: 'request-rejected', address, status, error: message.slice(0, 200) });
      // The rest of an upload we refuse early is not wanted: close the connection after
      // the answer instead of reading it for keep-alive.
      sendText(res, status, message, { connection: 'close', ...headers });
    };

    try {
      if (req.method !== 'POST') {
        await refuse(405, `STOW-RS takes POST, not ${req.method ?? '?'}`, { allow: 'POST' });
        return;
      }
      if (studyInstanceUid !== undefined && !isValidUid(studyInstanceUid)) {
        await refuse(
          400,
          'the study in the URL is not a valid DICOM UID — POST to /studies/{Study Instance UID} or /studies',
        );
        return;
      }
      const unsupported = unsupportedMediaType(req.headers['content-type']);
      if (unsupported !== undefined) {
        await refuse(415, `${unsupported} — send ${ACCEPTED} with one DICOM Part 10 file per part`);
        return;
      }
      const declared = Number(req.headers['content-length'] ?? NaN);
      if (Number.isFinite(declared) && declared > maxRequestBytes) {
        await refuse(
          413,
          `the request is ${declared} bytes; this node accepts at most ${maxRequestBytes} per request — send the study in several requests`,
        );
        return;
      }

      let boundary: string;
      try {
        boundary = boundaryOf(req.headers['content-type'] ?? '');
      } catch (error) {
        await refuse(400, `${describeError(error)}; nothing was stored`);
        return;
      }
      const path = spoolPath(spoolFolder, 'stow');
      file = await openSpoolFile(path);
      spooled = path;
      const scanner = new DelimiterScanner(boundary);
      const read = await spoolRequestBody(req, file, scanner, maxRequestBytes);
      if (read.kind === 'aborted') {
        // The client went away: nothing of this request is stored, and nobody is left to
        // answer. It gets no acknowledgement, so it must send again.
        emit({ type: 'request-aborted', address, receivedBytes: read.receivedBytes });
        return;
      }
      if (read.kind === 'too-large') {
        await refuse(
          413,
          `the request exceeds ${maxRequestBytes} bytes, the most this node accepts per request — send the study in several requests`,
        );
        return;
      }
      const bodyBytes = read.size;

      let segments: PartSegment[];
      try {
        segments = await splitSpooledBody(file, read.size, scanner);
      } catch (error) {
        await refuse(400, `${describeError(error)}; nothing was stored`);
        return;
      }
      if (segments.length === 0) {
        await refuse(
          400,
          'the multipart body has no parts; nothing was stored — send one DICOM file per part',
        );
        return;
      }
      const oversized = segments.findIndex((segment) => segment.end - segment.start > maxPartBytes);
      if (oversized >= 0) {
        const segment = segments[oversized]!;
        await refuse(
          413,
          `part ${oversized + 1} is ${segment.end - segment.start} bytes; this node accepts at most ${maxPartBytes} per part (one instance) — nothing was stored`,
        );
        return;
      }

      const referenced: ReferencedInstance[] = [];
      const failed: FailedInstance[] = [];
      // One part after the other: each storeInstance waits for its own fsyncs, and the
      // answer waits for all of them.
      for (const [index, segment] of segments.entries()) {
        let part: MultipartPart;
        try {
          part = await readSpooledPart(file, segment, index + 1);
        } catch (error) {
          // Its boundary framed it; its own header block is broken: this part fails alone.
          emit({
            type: 'store-failed',
            address,
            part: index + 1,
            failureReason: FAILURE_CANNOT_UNDERSTAND,
            error: isRadiolensError(error) ? error.code : 'E_UNEXPECTED',
          });
          failed.push({
            sopClassUid: '',
            sopInstanceUid: '',
            failureReason: FAILURE_CANNOT_UNDERSTAND,
          });
          continue;
        }
        const outcome = await storePart(store, part, index + 1, address, studyInstanceUid, emit);
        if ('failureReason' in outcome) failed.push(outcome);
        else referenced.push(outcome);
      }

      await cleanup();
      const status = storeStatusCode(referenced.length, failed.length);
      const body = Buffer.from(JSON.stringify(storeInstancesResponse(referenced, failed)), 'utf8');
      res.writeHead(status, {
        'content-type': 'application/dicom+json',
        'content-length': String(body.length),
      });
      res.end(body);
      emit({
        type: 'request-completed',
        address,
        status,
        stored: referenced.length,
        failed: failed.length,
        bytes: bodyBytes,
        ms: Date.now() - started,
      });
    } catch (error) {
      // No room to spool the upload: our trouble, and passing — "out of resources" in the
      // outcome map (ADR 0124), with Retry-After, which tells the sender to send it again
      // later; not a 500 it may take as final, nor (as a short write once made it) a 400.
      if (diskFull(error) && !res.headersSent) {
        const why =
          "no room on this node's disk to receive the upload; nothing was stored — send it again later";
        await refuse(outcomeOf(new RadiolensError('E_DISK_FULL', why)).httpStatus, why, {
          'retry-after': '60',
        });
        return;
      }
      // A bug, not bad input: answer 500 if we still can, never crash the server.
      emit({
        type: 'request-rejected',
        address,
        status: 500,
        error: describeError(error).slice(0, 200),
      });
      if (!res.headersSent)
        sendText(res, 500, 'internal error while storing; nothing more was stored');
      else res.destroy();
    } finally {
      await cleanup();
    }
  };
}

async function storePart(
  store: InstanceStore,
  part: MultipartPart,
  partNumber: number,
  address: string,
  urlStudy: string | undefined,
  emit: (event: StowEvent) => void,
): Promise<ReferencedInstance | FailedInstance> {
  const source = `STOW-RS part ${partNumber} from ${address}`;
  let sopClassUid = '';
  let sopInstanceUid = '';
  const fail = (failureReason: number, error: string): FailedInstance => {
    emit({ type: 'store-failed', address, part: partNumber, failureReason, error });
    return { sopClassUid, sopInstanceUid, failureReason };
  };
  try {
    const partType = part.headers['content-type'];
    if (partType !== undefined && mediaTypeOf(partType) !== DICOM_MEDIA_TYPE) {
      return fail(FAILURE_CANNOT_UNDERSTAND, 'E_BAD_INPUT');
    }
    // Read the identifying UIDs first: they are reported for failures too, and an instance
    // of another study than the URL names must not reach the store.
    const instance = parseDicom(part.body, source);
    sopClassUid = instance.sopClassUid;
    sopInstanceUid = instance.sopInstanceUid;
    if (urlStudy !== undefined && instance.studyInstanceUid !== urlStudy) {
      return fail(FAILURE_DATASET_DOES_NOT_MATCH, 'E_STUDY_MISMATCH');
    }
    const result = await store.storeInstance(part.body, { source, callingAeTitle: '' });
    emit({
      type: 'stored',
      address,
      outcome: result.outcome,
      sha256: result.instance.sha256,
      size: result.instance.size,
    });
    return {
      sopClassUid: result.instance.sopClassUid,
      sopInstanceUid: result.instance.sopInstanceUid,
    };
  } catch (error) {
    return fail(failureReasonOf(error), isRadiolensError(error) ? error.code : 'E_UNEXPECTED');
  }
}
