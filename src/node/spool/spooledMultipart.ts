/**
 * multipart/related bodies spooled to a file instead of held in memory (issue #16, ADR 0132).
 * The bytes go to disk as they arrive while a scanner notes where the delimiter
 * `CRLF--boundary` occurs; the parts are then cut from the file one at a time, so receiving
 * costs about the largest part, not the whole body (a 268 MB STOW upload once took 1.3 GB).
 * Each part is parsed by the same whole-buffer parser as before (foundation/dicomweb, ADR
 * 0108) on a small message holding just that part, so header rules and messages stay one.
 */
import { randomBytes } from 'node:crypto';
import { open, rm, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { RadiolensError, writeAllAt } from '../../foundation/core/index.js';
import {
  classifyAfterBoundary,
  multipartBoundary,
  parseMultipartRelated,
  type AfterBoundary,
  type MultipartPart,
} from '../../foundation/dicomweb/index.js';

/** Transport padding longer than this after a delimiter is not believed. */
const MAX_PADDING = 1024;
/** More delimiter-like sequences than this is not a DICOM upload. */
const MAX_DELIMITERS = 1_000_000;

function badBody(why: string): RadiolensError {
  return new RadiolensError('E_BAD_INPUT', `multipart body ${why}`);
}

/** The boundary of a multipart Content-Type (the in-memory parser's rule and messages). */
export const boundaryOf = multipartBoundary;

/**
 * Finds every `CRLF--boundary` in a stream of chunks (and `--boundary` at offset 0), keeping
 * only the last delimiter-length − 1 bytes between chunks.
 */
export class DelimiterScanner {
  readonly offsets: number[] = [];
  readonly delimiter: Buffer;
  private readonly opening: Buffer;
  private carry: Buffer = Buffer.alloc(0);
  private seen = 0;
  private head: Buffer = Buffer.alloc(0);

  constructor(boundary: string) {
    this.delimiter = Buffer.from(`\r\n--${boundary}`, 'latin1');
    this.opening = Buffer.from(`--${boundary}`, 'latin1');
  }

  push(chunk: Buffer): void {
    if (this.head.length < this.opening.length) {
      this.head = Buffer.concat([this.head, chunk.subarray(0, this.opening.length)]).subarray(
        0,
        this.opening.length,
      );
    }
    const window = this.carry.length === 0 ? chunk : Buffer.concat([this.carry, chunk]);
    const base = this.seen - this.carry.length;
    for (let at = window.indexOf(this.delimiter); at >= 0;) {
      if (this.offsets.length >= MAX_DELIMITERS) {
        throw badBody(`has more than ${MAX_DELIMITERS} boundaries — split the upload`);
      }
      this.offsets.push(base + at);
      at = window.indexOf(this.delimiter, at + 1);
    }
    this.seen += chunk.length;
    const keep = Math.min(window.length, this.delimiter.length - 1);
    this.carry = Buffer.from(window.subarray(window.length - keep));
  }

  /** Whether the body starts with `--boundary` (no preamble). */
  startsWithBoundary(): boolean {
    return this.head.equals(this.opening);
  }
}

/** Where one part's headers start and its body ends, in the spooled file. */
export interface PartSegment {
  readonly start: number;
  readonly end: number;
}

/**
 * What follows a boundary, read as the in-memory parser reads it (ADR 0108), in a window of
 * the file that starts at `fileOffset`; `next` is made a file offset.
 */
function classify(bytes: Buffer, at: number, fileOffset: number, atEof: boolean): AfterBoundary {
  const after = classifyAfterBoundary(bytes, at, atEof);
  return after.kind === 'part' ? { kind: 'part', next: fileOffset + after.next } : after;
}

async function readAt(file: FileHandle, position: number, length: number): Promise<Buffer> {
  const buffer = Buffer.alloc(length);
  let filled = 0;
  while (filled < length) {
    const { bytesRead } = await file.read(buffer, filled, length - filled, position + filled);
    if (bytesRead === 0) break;
    filled += bytesRead;
  }
  return buffer.subarray(0, filled);
}

/**
 * The parts of a spooled body, as segments of the file, from the delimiter offsets found
 * while it was written. Throws E_BAD_INPUT with the in-memory parser's messages when the
 * body has no boundary, or is truncated.
 */
export async function splitSpooledBody(
  file: FileHandle,
  size: number,
  scanner: DelimiterScanner,
): Promise<PartSegment[]> {
  const delimiterLength = scanner.delimiter.length;
  const afterAt = async (position: number): Promise<AfterBoundary> => {
    const window = await readAt(file, position, MAX_PADDING + 2);
    return classify(window, 0, position, position + window.length >= size);
  };
  // Each delimiter candidate: where the previous body ends, and what follows it.
  const delimiters: { start: number; after: AfterBoundary }[] = [];
  if (scanner.startsWithBoundary()) {
    const after = await afterAt(delimiterLength - 2);
    if (after.kind !== 'none') delimiters.push({ start: -2, after });
  }
  for (const offset of scanner.offsets) {
    const after = await afterAt(offset + delimiterLength);
    if (after.kind !== 'none') delimiters.push({ start: offset, after });
  }
  if (delimiters.length === 0) {
    throw badBody(
      `does not contain the boundary "${scanner.delimiter.toString('latin1').slice(4)}" of its Content-Type — the body is empty, truncated, or was built with another boundary`,
    );
  }
  const segments: PartSegment[] = [];
  for (let i = 0; ; i++) {
    const current = delimiters[i]!;
    const after = current.after;
    if (after.kind === 'close') return segments;
    if (after.kind !== 'part') {
      throw badBody(
        `is truncated after part ${segments.length} (it ends inside a boundary line) — the upload was cut off; send it again`,
      );
    }
    // A delimiter inside the header block of this part cannot end it (the in-memory parser
    // searches from where the headers start, too).
    let j = i + 1;
    while (j < delimiters.length && delimiters[j]!.start < after.next) j++;
    const end = delimiters[j];
    if (end === undefined) {
      throw badBody(
        `is truncated: part ${segments.length + 1} has no closing boundary — the upload was cut off or the boundary is wrong; send it again`,
      );
    }
    segments.push({ start: after.next, end: end.start });
    i = j - 1;
  }
}

/**
 * Reads one part from the spooled file and parses it: the segment is framed as a
 * one-part message and handed to the in-memory parser, which checks its header block.
 */
export async function readSpooledPart(
  file: FileHandle,
  segment: PartSegment,
  partNumber: number,
): Promise<MultipartPart> {
  const boundary = `spool-${randomBytes(12).toString('hex')}`;
  const open = Buffer.from(`--${boundary}\r\n`, 'latin1');
  const close = Buffer.from(`\r\n--${boundary}--\r\n`, 'latin1');
  const length = segment.end - segment.start;
  // One allocation: the part's bytes are read straight into the middle of the message.
  const message = Buffer.allocUnsafe(open.length + length + close.length);
  open.copy(message, 0);
  let filled = 0;
  while (filled < length) {
    const { bytesRead } = await file.read(
      message,
      open.length + filled,
      length - filled,
      segment.start + filled,
    );
    if (bytesRead === 0) throw badBody(`part ${partNumber} ends early in the spooled copy`);
    filled += bytesRead;
  }
  close.copy(message, open.length + length);
  try {
    const [part] = parseMultipartRelated(message, `multipart/related; boundary=${boundary}`);
    if (part === undefined) throw badBody(`part ${partNumber} is empty`);
    return part;
  } catch (error) {
    // The parser numbers the part 1 in its one-part message: say which it really is.
    if (error instanceof RadiolensError) {
      const message = error.message.slice(`${error.code}: `.length);
      throw new RadiolensError(error.code, message.replace(/part 1\b/, `part ${partNumber}`));
    }
    throw error;
  }
}

/** A fresh spool file path in `folder` (created by the caller, mode 0700). */
export function spoolPath(folder: string, prefix: string): string {
  return join(folder, `${prefix}-${randomBytes(8).toString('hex')}.spool`);
}

/** Opens a new spool file (0600: it holds patient data while it exists). */
export function openSpoolFile(path: string): Promise<FileHandle> {
  return open(path, 'wx+', 0o600);
}

export async function removeSpoolFile(file: FileHandle | undefined, path: string): Promise<void> {
  await file?.close().catch(() => undefined);
  await rm(path, { force: true });
}

/**
 * Copies a fetch Response body (WADO-RS) into `file` with a size limit, scanning for the
 * delimiter as it goes. Returns the number of bytes written.
 */
export async function spoolWebStream(
  body: ReadableStream<Uint8Array>,
  file: FileHandle,
  scanner: DelimiterScanner,
  maxBytes: number,
): Promise<number> {
  let written = 0;
  const reader = body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return written;
    written += value.byteLength;
    if (written > maxBytes) {
      await reader.cancel();
      throw new RadiolensError(
        'E_LIMIT_EXCEEDED',
        `the answer exceeds ${maxBytes} bytes, the most this node receives in one response — raise the limit or retrieve series by series`,
      );
    }
    const chunk = Buffer.from(value.buffer, value.byteOffset, value.byteLength);
    scanner.push(chunk);
    await writeAllAt(file, chunk, written - chunk.length);
  }
}
