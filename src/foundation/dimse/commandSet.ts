/**
 * DIMSE command sets (PS3.7 E.1) of C-STORE and C-ECHO, encoded and decoded directly. A
 * command set is a handful of group 0000 elements in Implicit VR Little Endian; dcmjs-dimse
 * writes and reads it through dcmjs's general dataset code, which cost a third of a
 * millisecond per C-STORE response and 0.2 ms per request (ADR 0117). Tests hold our bytes
 * equal to dcmjs-dimse's and our reading deep-equal to dcmjs's; anything else is left to
 * dcmjs.
 */
import dcmjsDimse from 'dcmjs-dimse';
import { IMPLICIT_VR_LITTLE_ENDIAN } from '../dicom/index.js';

/** What dcmjs-dimse's commands (requests and responses) share, as far as we use it. */
interface DimseCommand {
  getCommandDataset(): dcmjsDimse.Dataset;
}

/** The command elements we encode: tag (element number in group 0000) and VR (PS3.7 E.1). */
const COMMAND_ELEMENTS: Readonly<Record<string, { element: number; vr: 'UI' | 'US' | 'LO' }>> = {
  AffectedSOPClassUID: { element: 0x0002, vr: 'UI' },
  CommandField: { element: 0x0100, vr: 'US' },
  MessageIDBeingRespondedTo: { element: 0x0120, vr: 'US' },
  CommandDataSetType: { element: 0x0800, vr: 'US' },
  Status: { element: 0x0900, vr: 'US' },
  ErrorComment: { element: 0x0902, vr: 'LO' },
  AffectedSOPInstanceUID: { element: 0x1000, vr: 'UI' },
};

function valueBytes(vr: 'UI' | 'US' | 'LO', value: unknown): Buffer | undefined {
  if (vr === 'US') {
    if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > 0xffff)
      return undefined;
    const bytes = Buffer.alloc(2);
    bytes.writeUInt16LE(value);
    return bytes;
  }
  if (typeof value !== 'string') return undefined;
  const text = Buffer.from(value, 'latin1');
  if (text.byteLength % 2 === 0) return text;
  // Even length (PS3.5 7.1.1): UI pads with NUL, text VRs with a space.
  return Buffer.concat([text, Buffer.from([vr === 'UI' ? 0 : 0x20])]);
}

/**
 * The command set as Implicit VR Little Endian with its group length, or undefined when it
 * holds an element or value outside what we encode (the caller keeps dcmjs-dimse's encoder).
 */
export function encodeCommandSet(elements: Record<string, unknown>): Buffer | undefined {
  const encoded: Array<{ element: number; value: Buffer }> = [];
  for (const [keyword, value] of Object.entries(elements)) {
    if (value === undefined) continue; // unset (an Error Comment on success): not written
    const definition = COMMAND_ELEMENTS[keyword];
    if (definition === undefined) return undefined;
    const bytes = valueBytes(definition.vr, value);
    if (bytes === undefined) return undefined;
    encoded.push({ element: definition.element, value: bytes });
  }
  encoded.sort((a, b) => a.element - b.element);
  const groupLength = encoded.reduce((n, e) => n + 8 + e.value.byteLength, 0);
  const out = Buffer.alloc(12 + groupLength);
  out.writeUInt16LE(0x0000, 0);
  out.writeUInt16LE(0x0000, 2);
  out.writeUInt32LE(4, 4);
  out.writeUInt32LE(groupLength, 8);
  let offset = 12;
  for (const { element, value } of encoded) {
    out.writeUInt16LE(0x0000, offset);
    out.writeUInt16LE(element, offset + 2);
    out.writeUInt32LE(value.byteLength, offset + 4);
    value.copy(out, offset + 8);
    offset += 8 + value.byteLength;
  }
  return out;
}

/**
 * Has dcmjs-dimse send this command with encodeCommandSet's bytes when they can be made
 * (dcmjs-dimse asks the command's dataset for them as it writes the P-DATA-TF PDU).
 */
export function withDirectCommandEncoding<T extends DimseCommand>(command: T): T {
  const dataset = command.getCommandDataset();
  const viaDcmjs = dataset.getDenaturalizedCommandDataset.bind(dataset);
  dataset.getDenaturalizedCommandDataset = (writeOptions?: Record<string, unknown>) =>
    encodeCommandSet(dataset.getElements()) ?? viaDcmjs(writeOptions);
  return command;
}

/** Command elements read directly: tag → keyword and VR; others leave the command to dcmjs. */
const READABLE_COMMAND_ELEMENTS: ReadonlyMap<number, { keyword: string; vr: 'UI' | 'US' | 'UL' }> =
  new Map([
    [0x0000, { keyword: 'CommandGroupLength', vr: 'UL' }],
    [0x0002, { keyword: 'AffectedSOPClassUID', vr: 'UI' }],
    [0x0100, { keyword: 'CommandField', vr: 'US' }],
    [0x0110, { keyword: 'MessageID', vr: 'US' }],
    [0x0120, { keyword: 'MessageIDBeingRespondedTo', vr: 'US' }],
    [0x0700, { keyword: 'Priority', vr: 'US' }],
    [0x0800, { keyword: 'CommandDataSetType', vr: 'US' }],
    [0x0900, { keyword: 'Status', vr: 'US' }],
    [0x1000, { keyword: 'AffectedSOPInstanceUID', vr: 'UI' }],
  ]);

const UID_TEXT = /^[0-9.]+$/;

/**
 * A command set (Implicit VR Little Endian, group 0000) as dcmjs-dimse's Dataset holds it:
 * keywords and values as dcmjs naturalizes them, with its empty `_vrMap`. Undefined for
 * anything but the plain shapes C-STORE and C-ECHO requests and responses take (an element
 * outside READABLE_COMMAND_ELEMENTS, an empty or padded-with-space value…): dcmjs reads those.
 */
export function decodeCommandSet(bytes: Uint8Array): Record<string, unknown> | undefined {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const elements: Record<string, unknown> = { _vrMap: {} };
  let offset = 0;
  while (offset < bytes.byteLength) {
    if (offset + 8 > bytes.byteLength || view.getUint16(offset, true) !== 0x0000) return undefined;
    const definition = READABLE_COMMAND_ELEMENTS.get(view.getUint16(offset + 2, true));
    const length = view.getUint32(offset + 4, true);
    const start = offset + 8;
    if (definition === undefined || length === 0 || start + length > bytes.byteLength)
      return undefined;
    if (definition.vr === 'US') {
      if (length !== 2) return undefined;
      elements[definition.keyword] = view.getUint16(start, true);
    } else if (definition.vr === 'UL') {
      if (length !== 4) return undefined;
      elements[definition.keyword] = view.getUint32(start, true);
    } else {
      let end = start + length;
      if (bytes[end - 1] === 0) end--; // UI pads to even length with one NUL
      const text = Buffer.from(bytes.buffer, bytes.byteOffset + start, end - start).toString(
        'latin1',
      );
      if (!UID_TEXT.test(text)) return undefined;
      elements[definition.keyword] = text;
    }
    offset = start + length;
  }
  return elements;
}

let directDecodingInstalled = false;

/**
 * Has dcmjs-dimse read command sets with decodeCommandSet where it can (it reads each
 * received command into a Dataset through dcmjs: 0.2 ms per C-STORE, ADR 0117). Datasets in
 * other syntaxes, and command sets decodeCommandSet declines, still go through dcmjs. Once per
 * process.
 */
export function useDirectCommandDecoding(): void {
  if (directDecodingInstalled) return;
  directDecodingInstalled = true;
  const prototype = dcmjsDimse.Dataset.prototype as unknown as {
    _fromElementsBuffer: (buffer: Buffer, transferSyntaxUid: string, options: unknown) => unknown;
  };
  const viaDcmjs = prototype._fromElementsBuffer;
  // Another dcmjs-dimse version without this method: nothing to speed up (a test says so).
  if (typeof viaDcmjs !== 'function') return;
  prototype._fromElementsBuffer = function (buffer, transferSyntaxUid, options) {
    const direct =
      transferSyntaxUid === IMPLICIT_VR_LITTLE_ENDIAN ? decodeCommandSet(buffer) : undefined;
    return direct ?? viaDcmjs.call(this, buffer, transferSyntaxUid, options);
  };
}
