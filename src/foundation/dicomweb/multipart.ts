/**
 * multipart/related bodies (RFC 2046 §5.1, RFC 2387) as DICOMweb uses them for STOW-RS
 * requests and WADO-RS responses (PS3.18 §8.7.1). Whole-buffer parsing: the caller holds
 * the body in memory (it has a size limit), and every search is Buffer.indexOf, so a 100 MB
 * body is parsed in milliseconds without a per-byte JavaScript loop (ADR 0108).
 */
import { randomBytes } from 'node:crypto';
import { RadiolensError } from '../core/index.js';
import { formatParameterValue, parseMediaType } from './mediaType.js';

export interface MultipartPart {
  /** Header names lower-case; repeated headers joined with ", ". */
  headers: Record<string, string>;
  /** A view into the parsed body (no copy). */
  body: Uint8Array;
}

export interface MultipartBuildOptions {
  /** The `type` parameter (root part's media type); defaults to the first part's. */
  type?: string;
  /** Defaults to a random one that occurs in no part. */
  boundary?: string;
}

const CRLF = Buffer.from('\r\n');
const HEADER_END = Buffer.from('\r\n\r\n');
const CR = 0x0d;
const LF = 0x0a;
const DASH = 0x2d;
const SPACE = 0x20;
const TAB = 0x09;

// RFC 2046 bchars; a boundary is 1–70 of them and does not end with a space.
const BOUNDARY = /^[0-9A-Za-z'()+_,\-./:=? ]{0,69}[0-9A-Za-z'()+_,\-./:=?]$/;

function badBody(why: string): RadiolensError {
  return new RadiolensError('E_BAD_INPUT', `multipart body ${why}`);
}

function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes)
    ? bytes
    : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/**
 * Builds a multipart/related body. Returns the bytes and the Content-Type header to send
 * with them (`multipart/related; type="…"; boundary=…`).
 */
export function buildMultipartRelated(
  parts: readonly { contentType: string; body: Uint8Array }[],
  options: MultipartBuildOptions = {},
): { body: Uint8Array; contentType: string } {
  const first = parts[0];
  if (first === undefined) {
    throw new RadiolensError(
      'E_BAD_INPUT',
      'a multipart/related body needs at least one part (RFC 2046) — pass one or more parts',
    );
  }
  for (const part of parts) {
    if (/[\r\n]/.test(part.contentType) || part.contentType.trim() === '') {
      throw new RadiolensError(
        'E_BAD_INPUT',
        `part content type ${JSON.stringify(part.contentType)} is empty or contains a line break — pass a media type such as application/dicom`,
      );
    }
  }
  const type = options.type ?? first.contentType;
  if (/[\r\n]/.test(type)) {
    throw new RadiolensError('E_BAD_INPUT', 'the type parameter contains a line break');
  }
  let boundary = options.boundary;
  if (boundary !== undefined) {
    if (!BOUNDARY.test(boundary)) {
      throw new RadiolensError(
        'E_BAD_INPUT',
        `boundary ${JSON.stringify(boundary)} is not 1–70 RFC 2046 boundary characters — choose another or let one be generated`,
      );
    }
    const clash = parts.findIndex((p) => asBuffer(p.body).includes(`--${boundary}`));
    if (clash >= 0) {
      throw new RadiolensError(
        'E_BAD_INPUT',
        `boundary ${JSON.stringify(boundary)} occurs inside part ${clash + 1} — choose another or let one be generated`,
      );
    }
  } else {
    // 128 random bits: a clash is practically impossible, but checking is cheap (indexOf).
    do {
      boundary = `radiolens-${randomBytes(16).toString('hex')}`;
    } while (parts.some((p) => asBuffer(p.body).includes(boundary as string)));
  }

  const chunks: Buffer[] = [];
  for (const part of parts) {
    chunks.push(
      Buffer.from(`--${boundary}\r\nContent-Type: ${part.contentType}\r\n\r\n`, 'latin1'),
    );
    chunks.push(asBuffer(part.body));
    chunks.push(CRLF);
  }
  chunks.push(Buffer.from(`--${boundary}--\r\n`, 'latin1'));
  return {
    body: Buffer.concat(chunks),
    contentType: `multipart/related; type=${formatParameterValue(type)}; boundary=${formatParameterValue(boundary)}`,
  };
}

/**
 * What follows `--boundary` at `at`: another part (`next` = where its headers start), the
 * close delimiter, no delimiter at all (the boundary text was just a prefix of other bytes),
 * or the end of the body before that could be told.
 */
export type AfterBoundary =
  { kind: 'part'; next: number } | { kind: 'close' } | { kind: 'none' } | { kind: 'truncated' };

/**
 * `bodyEndsHere`: whether `buf` ends where the body ends (the whole body in memory), or is a
 * window on a longer body (a spooled file, node/spool), where transport padding that runs to
 * the window's end is not believed (no delimiter) instead of being a truncated body.
 */
export function classifyAfterBoundary(
  buf: Uint8Array,
  at: number,
  bodyEndsHere = true,
): AfterBoundary {
  if (at + 1 >= buf.length) {
    return at < buf.length &&
      buf[at] !== DASH &&
      buf[at] !== CR &&
      buf[at] !== SPACE &&
      buf[at] !== TAB
      ? { kind: 'none' }
      : { kind: 'truncated' };
  }
  if (buf[at] === DASH) {
    return buf[at + 1] === DASH ? { kind: 'close' } : { kind: 'none' };
  }
  // Transport padding (linear white space) may follow a delimiter before its CRLF.
  let i = at;
  while (i < buf.length && (buf[i] === SPACE || buf[i] === TAB)) i += 1;
  if (i + 1 >= buf.length) return bodyEndsHere ? { kind: 'truncated' } : { kind: 'none' };
  if (buf[i] === CR && buf[i + 1] === LF) return { kind: 'part', next: i + 2 };
  return { kind: 'none' };
}

interface Delimiter {
  /** Index of the CRLF that precedes `--boundary` (the end of the previous part's body). */
  readonly start: number;
  readonly after: AfterBoundary;
}

function nextDelimiter(buf: Buffer, delimiter: Buffer, from: number): Delimiter | undefined {
  for (let i = from; ;) {
    const found = buf.indexOf(delimiter, i);
    if (found < 0) return undefined;
    const after = classifyAfterBoundary(buf, found + delimiter.length);
    if (after.kind !== 'none') return { start: found, after };
    i = found + 1;
  }
}

function parseHeaders(block: string, partNumber: number): Record<string, string> {
  // A Map, then Object.fromEntries: names such as "__proto__" or "constructor" from the
  // wire become plain own properties.
  const headers = new Map<string, string>();
  // Unfold continuation lines (RFC 5322 §2.2.3) before splitting.
  const lines = block.split(/\r\n(?![ \t])/);
  for (const raw of lines) {
    const line = raw.replace(/\r\n[ \t]+/g, ' ');
    if (line === '') continue;
    const colon = line.indexOf(':');
    if (colon <= 0) {
      throw badBody(
        `part ${partNumber} has a header line without a name (${JSON.stringify(line.slice(0, 60))}) — each part must start with "Name: value" header lines and a blank line`,
      );
    }
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    const earlier = headers.get(name);
    headers.set(name, earlier === undefined ? value : `${earlier}, ${value}`);
  }
  return Object.fromEntries(headers);
}

/** The boundary of a multipart Content-Type, or a coded error naming what is missing. */
export function multipartBoundary(contentTypeHeader: string): string {
  const { mediaType, parameters } = parseMediaType(contentTypeHeader);
  if (!mediaType.startsWith('multipart/')) {
    throw new RadiolensError(
      'E_BAD_INPUT',
      `Content-Type ${mediaType} is not multipart — send multipart/related; type="application/dicom"; boundary=...`,
    );
  }
  const boundary = parameters['boundary'];
  if (boundary === undefined || boundary === '') {
    throw new RadiolensError(
      'E_BAD_INPUT',
      `Content-Type ${mediaType} has no boundary parameter — add boundary=<the delimiter used in the body>`,
    );
  }
  return boundary;
}

/**
 * Splits a multipart body into its parts. `contentTypeHeader` is the whole Content-Type
 * header of the message; its `boundary` parameter (quoted or not) is required. The preamble
 * and epilogue are ignored. Throws RadiolensError E_BAD_INPUT naming the problem when the
 * header is not multipart or has no boundary, or the body is truncated or malformed.
 */
export function parseMultipartRelated(
  body: Uint8Array,
  contentTypeHeader: string,
): MultipartPart[] {
  const boundary = multipartBoundary(contentTypeHeader);
  // RFC 2046 caps boundaries at 70 characters, but real senders exceed it (Orthanc's
  // DICOMweb plugin uses 73), and a longer one is just as unambiguous: accept it.
  const buf = asBuffer(body);
  const dashBoundary = Buffer.from(`--${boundary}`, 'latin1');
  const delimiter = Buffer.from(`\r\n--${boundary}`, 'latin1');

  // The first boundary may open the body (no preamble) or follow a preamble and a CRLF.
  let current: Delimiter | undefined;
  if (buf.subarray(0, dashBoundary.length).equals(dashBoundary)) {
    const after = classifyAfterBoundary(buf, dashBoundary.length);
    if (after.kind !== 'none') current = { start: -CRLF.length, after };
  }
  current ??= nextDelimiter(buf, delimiter, 0);
  if (current === undefined) {
    throw badBody(
      `does not contain the boundary "${boundary}" of its Content-Type — the body is empty, truncated, or was built with another boundary`,
    );
  }

  const parts: MultipartPart[] = [];
  for (;;) {
    const after = current.after;
    if (after.kind === 'close') return parts;
    if (after.kind !== 'part') {
      throw badBody(
        `is truncated after part ${parts.length} (it ends inside a boundary line) — the upload was cut off; send it again`,
      );
    }
    const partNumber = parts.length + 1;
    const end = nextDelimiter(buf, delimiter, after.next);
    if (end === undefined) {
      throw badBody(
        `is truncated: part ${partNumber} has no closing boundary "--${boundary}" — the upload was cut off or the boundary is wrong; send it again`,
      );
    }
    let bodyStart: number;
    let headers: Record<string, string>;
    if (buf[after.next] === CR && buf[after.next + 1] === LF) {
      // No header lines: the blank line follows the boundary line directly.
      bodyStart = after.next + 2;
      headers = {};
    } else {
      const headerEnd = buf.indexOf(HEADER_END, after.next);
      // The header block's final CRLF may be the one that starts the next delimiter only
      // when the part has headers and an empty body ("…\r\n\r\n--b").
      if (headerEnd < 0 || headerEnd > end.start) {
        throw badBody(
          `part ${partNumber} has no blank line after its headers — each part must be headers, an empty line, then the content`,
        );
      }
      headers = parseHeaders(buf.toString('latin1', after.next, headerEnd), partNumber);
      bodyStart = headerEnd + HEADER_END.length;
    }
    const bodyEnd = Math.max(bodyStart, end.start);
    parts.push({ headers, body: buf.subarray(bodyStart, bodyEnd) });
    current = end;
  }
}
