/**
 * Accept header negotiation for WADO-RS and QIDO-RS (PS3.18 §8.7): which of the media types
 * the client listed the node can give for a resource, with the transfer syntax the node
 * keeps (it returns instances and frames as stored and never transcodes, ADR 0170).
 */
import {
  EXPLICIT_VR_LITTLE_ENDIAN,
  frameMediaType,
  hasLittleEndianNativeFrames,
} from '../../foundation/dicom/index.js';
import { parseMediaType, type MediaType } from '../../foundation/dicomweb/index.js';
import { DicomWebProblem } from './problem.js';

const ANY = new Set(['*/*', 'multipart/*', 'multipart/related']);

/** The media ranges of an Accept header, best first (q-values honoured, order kept). */
export function parseAccept(header: string | undefined): MediaType[] {
  if (header === undefined || header.trim() === '') return [{ mediaType: '*/*', parameters: {} }];
  // Split at commas outside quoted strings: a type parameter may itself be quoted.
  const items: string[] = [];
  let current = '';
  let quoted = false;
  for (const ch of header) {
    if (ch === '"') quoted = !quoted;
    if (ch === ',' && !quoted) {
      items.push(current);
      current = '';
    } else current += ch;
  }
  items.push(current);
  const ranges: { range: MediaType; q: number; at: number }[] = [];
  items.forEach((item, at) => {
    if (item.trim() === '') return;
    let range: MediaType;
    try {
      range = parseMediaType(item);
    } catch {
      throw new DicomWebProblem(
        400,
        `the Accept header has an unreadable media range "${item.trim().slice(0, 80)}"`,
      );
    }
    const q = Number(range.parameters['q'] ?? '1');
    if (q > 0) ranges.push({ range, q: Number.isFinite(q) ? q : 1, at });
  });
  return ranges.sort((a, b) => b.q - a.q || a.at - b.at).map((r) => r.range);
}

/** JSON for QIDO-RS results and metadata: application/dicom+json (or plain JSON). */
export function acceptsDicomJson(ranges: readonly MediaType[]): void {
  const ok = ranges.some((r) =>
    ['application/dicom+json', 'application/json', 'application/*', '*/*'].includes(r.mediaType),
  );
  if (!ok) {
    throw new DicomWebProblem(
      406,
      'this resource is sent as application/dicom+json — accept that media type',
    );
  }
}

/**
 * Instances as multipart/related; type="application/dicom". A requested transfer syntax
 * must be `*` or the one every instance is stored in.
 */
export function acceptsDicomInstances(
  ranges: readonly MediaType[],
  stored: ReadonlySet<string>,
): void {
  for (const range of ranges) {
    if (range.mediaType === '*/*' || range.mediaType === 'multipart/*') return;
    if (range.mediaType !== 'multipart/related') continue;
    const type = range.parameters['type']?.toLowerCase();
    if (type !== undefined && type !== 'application/dicom') continue;
    const syntax = range.parameters['transfer-syntax'];
    if (syntax === undefined || syntax === '*') return;
    if (stored.size === 1 && stored.has(syntax)) return;
  }
  throw new DicomWebProblem(
    406,
    `the node returns instances as stored (${[...stored].join(', ')}) in multipart/related; type="application/dicom" — accept that, with transfer-syntax=* or the stored syntax`,
  );
}

export interface FrameRepresentation {
  /** The media type of each part, e.g. application/octet-stream. */
  readonly partType: string;
  /** The transfer syntax the frame bytes are in. */
  readonly transferSyntax: string;
}

/**
 * Frames or bulk data as multipart/related parts: application/octet-stream (or the type the
 * client named) with the stored transfer syntax; uncompressed little endian frames are the
 * same bytes in every little endian syntax, so they satisfy the default (Explicit VR LE).
 */
export function acceptsFrames(
  ranges: readonly MediaType[],
  storedSyntax: string,
): FrameRepresentation {
  const syntax = hasLittleEndianNativeFrames(storedSyntax)
    ? EXPLICIT_VR_LITTLE_ENDIAN
    : storedSyntax;
  // A compressed frame is labelled with its codec's media type (PS3.18 Table 8.7.3-5, in the
  // transfer syntax table), as Orthanc does, whatever octet-stream range the client accepted
  // it under.
  const codecType = frameMediaType(syntax);
  for (const range of ranges) {
    const anything = ANY.has(range.mediaType) && range.parameters['type'] === undefined;
    const named = range.parameters['type']?.toLowerCase();
    if (!anything && (range.mediaType !== 'multipart/related' || named === undefined)) continue;
    const octets = anything || named === 'application/octet-stream';
    if (!octets && named !== codecType) continue;
    const requested = range.parameters['transfer-syntax'];
    if (requested === '*' || requested === syntax) {
      return { partType: codecType, transferSyntax: syntax };
    }
    // Without a transfer-syntax, octet-stream means Explicit VR Little Endian (PS3.18 8.7.3.5).
    if (requested === undefined && (anything || syntax === EXPLICIT_VR_LITTLE_ENDIAN)) {
      return { partType: codecType, transferSyntax: syntax };
    }
  }
  throw new DicomWebProblem(
    406,
    `the frames are stored in transfer syntax ${storedSyntax} and the node does not transcode — accept multipart/related; type="application/octet-stream"; transfer-syntax=* (or =${syntax})`,
  );
}
