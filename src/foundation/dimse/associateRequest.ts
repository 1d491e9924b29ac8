/**
 * The A-ASSOCIATE-RQ PDU (PS3.8 9.3.2), checked before dcmjs-dimse reads it (ADR 0122).
 * dcmjs-dimse trusts the structure: a presentation context ID it has seen before is
 * renumbered (255 becomes 257, which then cannot be written into the A-ASSOCIATE-AC and threw
 * out of the process), IDs in descending order lose their transfer syntaxes, and a sub-item
 * whose length runs past its item desynchronises the reader. Here every item and sub-item
 * must fit its parent, each presentation context has one abstract syntax and at least one
 * transfer syntax, and its ID is an odd integer from 1 to 255 used once (PS3.8 9.3.2.2).
 * A request that passes is handed on with its presentation context items in ascending ID
 * order, the one order dcmjs-dimse keeps the IDs in (the order carries no meaning, PS3.8
 * 9.3.2.2); the bytes are otherwise unchanged.
 */

export const PDU_A_ASSOCIATE_RQ = 0x01;

const ITEM_APPLICATION_CONTEXT = 0x10;
const ITEM_PRESENTATION_CONTEXT = 0x20;
const ITEM_ABSTRACT_SYNTAX = 0x30;
const ITEM_TRANSFER_SYNTAX = 0x40;
const ITEM_USER_INFORMATION = 0x50;
/** A UID is at most 64 characters (PS3.5 9.1). */
const MAX_UID_LENGTH = 64;
/** Fixed fields after the PDU header: version, reserved, called and calling AE, reserved. */
const FIXED_FIELDS = 2 + 2 + 16 + 16 + 32;

export type AssociateRequestCheck =
  | {
      readonly ok: true;
      /** The PDU, header included, with presentation contexts in ascending ID order. */
      readonly pdu: Buffer;
      readonly presentationContextIds: readonly number[];
    }
  | {
      readonly ok: false;
      /** Protocol version without bit 0: answered A-ASSOCIATE-RJ, not A-ABORT (PS3.8 9.3.4). */
      readonly versionNotSupported?: true;
      readonly problem: string;
    };

interface Item {
  readonly type: number;
  readonly start: number;
  readonly end: number;
}

/** The items between start and end; undefined when one runs past `end`. */
function itemsIn(pdu: Buffer, start: number, end: number): Item[] | string {
  const items: Item[] = [];
  let offset = start;
  while (offset < end) {
    if (offset + 4 > end) return `an item header at byte ${offset} runs past its parent`;
    const type = pdu[offset] as number;
    const length = pdu.readUInt16BE(offset + 2);
    const itemEnd = offset + 4 + length;
    if (itemEnd > end) return `item 0x${type.toString(16)} at byte ${offset} runs past its parent`;
    items.push({ type, start: offset, end: itemEnd });
    offset = itemEnd;
  }
  return items;
}

function uidProblem(pdu: Buffer, item: Item, what: string): string | undefined {
  const length = item.end - item.start - 4;
  if (length === 0 || length > MAX_UID_LENGTH) {
    return `${what} at byte ${item.start} is ${length} bytes long (1 to ${MAX_UID_LENGTH})`;
  }
  const text = pdu.toString('latin1', item.start + 4, item.end).replace(/\0+$/, '');
  return /^[0-9.]+$/.test(text) ? undefined : `${what} at byte ${item.start} is not a UID`;
}

function presentationContextProblem(pdu: Buffer, item: Item): string | undefined {
  if (item.end - item.start < 8) return `presentation context at byte ${item.start} is too short`;
  const subItems = itemsIn(pdu, item.start + 8, item.end);
  if (typeof subItems === 'string') return subItems;
  const abstract = subItems.filter((s) => s.type === ITEM_ABSTRACT_SYNTAX);
  const transfer = subItems.filter((s) => s.type === ITEM_TRANSFER_SYNTAX);
  if (
    abstract.length !== 1 ||
    transfer.length === 0 ||
    abstract.length + transfer.length !== subItems.length
  ) {
    return `presentation context ${pdu[item.start + 4]} must hold one abstract syntax and one or more transfer syntaxes`;
  }
  return [...abstract, ...transfer]
    .map((s) =>
      uidProblem(pdu, s, s.type === ITEM_ABSTRACT_SYNTAX ? 'abstract syntax' : 'transfer syntax'),
    )
    .find((p) => p !== undefined);
}

function userInformationProblem(pdu: Buffer, item: Item): string | undefined {
  const subItems = itemsIn(pdu, item.start + 4, item.end);
  if (typeof subItems === 'string') return subItems;
  for (const sub of subItems) {
    const length = sub.end - sub.start - 4;
    // dcmjs-dimse reads these with fixed layouts; each must be exactly what it reads.
    if ((sub.type === 0x51 && length !== 4) || (sub.type === 0x53 && length !== 4)) {
      return `user information sub-item 0x${sub.type.toString(16)} has length ${length}, not 4`;
    }
    if (sub.type === 0x54) {
      if (length < 2 || pdu.readUInt16BE(sub.start + 4) + 4 !== length) {
        return 'the SCP/SCU role selection sub-item has inconsistent lengths';
      }
    }
    if (sub.type === 0x58) {
      // Type, positive response requested, primary field, secondary field (PS3.7 D.3.3.7.1).
      if (length < 6) return 'the user identity sub-item is too short';
      const primary = pdu.readUInt16BE(sub.start + 6);
      if (primary + 6 > length) return 'the user identity sub-item has inconsistent lengths';
      const secondary = pdu.readUInt16BE(sub.start + 8 + primary);
      if (6 + primary + secondary !== length) {
        return 'the user identity sub-item has inconsistent lengths';
      }
    }
  }
  return undefined;
}

/**
 * Checks a whole A-ASSOCIATE-RQ PDU (6-byte header included) and returns it in the order
 * dcmjs-dimse reads correctly, or what is wrong with it.
 */
export function checkAssociateRequest(pdu: Buffer): AssociateRequestCheck {
  if (pdu.byteLength < 6 + FIXED_FIELDS || pdu[0] !== PDU_A_ASSOCIATE_RQ) {
    return { ok: false, problem: 'the A-ASSOCIATE-RQ is shorter than its fixed fields' };
  }
  if (pdu.readUInt32BE(2) !== pdu.byteLength - 6) {
    return { ok: false, problem: 'the A-ASSOCIATE-RQ length does not match its bytes' };
  }
  if ((pdu.readUInt16BE(6) & 1) === 0) {
    return { ok: false, versionNotSupported: true, problem: 'protocol version 1 is not offered' };
  }
  const items = itemsIn(pdu, 6 + FIXED_FIELDS, pdu.byteLength);
  if (typeof items === 'string') return { ok: false, problem: items };
  const contexts = items.filter((i) => i.type === ITEM_PRESENTATION_CONTEXT);
  const counts = (type: number): number => items.filter((i) => i.type === type).length;
  if (counts(ITEM_APPLICATION_CONTEXT) !== 1 || counts(ITEM_USER_INFORMATION) !== 1) {
    return {
      ok: false,
      problem: 'one application context and one user information item are required',
    };
  }
  if (contexts.length === 0) return { ok: false, problem: 'no presentation context is proposed' };
  const seen = new Set<number>();
  for (const context of contexts) {
    const problem = presentationContextProblem(pdu, context);
    if (problem !== undefined) return { ok: false, problem };
    const id = pdu[context.start + 4] as number;
    if (id % 2 === 0) {
      return { ok: false, problem: `presentation context ID ${id} is even (odd 1 to 255 only)` };
    }
    if (seen.has(id)) return { ok: false, problem: `presentation context ID ${id} is used twice` };
    seen.add(id);
  }
  const userInformation = items.find((i) => i.type === ITEM_USER_INFORMATION) as Item;
  const userProblem = userInformationProblem(pdu, userInformation);
  if (userProblem !== undefined) return { ok: false, problem: userProblem };

  const id = (item: Item): number => pdu[item.start + 4] as number;
  const ascending = contexts.every((c, i) => i === 0 || id(contexts[i - 1] as Item) < id(c));
  const ids = contexts.map(id);
  if (ascending) return { ok: true, pdu, presentationContextIds: ids };
  // Put the presentation context items back in the slots they held, in ascending ID order.
  const sorted = [...contexts].sort((a, b) => id(a) - id(b));
  let next = 0;
  const parts = [pdu.subarray(0, 6 + FIXED_FIELDS)];
  for (const item of items) {
    const chosen = item.type === ITEM_PRESENTATION_CONTEXT ? (sorted[next++] as Item) : item;
    parts.push(pdu.subarray(chosen.start, chosen.end));
  }
  return { ok: true, pdu: Buffer.concat(parts, pdu.byteLength), presentationContextIds: ids };
}
