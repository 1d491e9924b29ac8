import { createHash, randomUUID } from 'node:crypto';

/**
 * Deterministic DICOM UIDs under the 2.25 root (PS3.5 B.2: a UUID written as a decimal
 * integer). The same parts always give the same UID, so a retried analysis writes the same
 * SOP Instance UIDs and a PACS replaces instead of duplicating (ARCHITECTURE.md "Nothing is
 * lost"). The UUID is name-based (RFC 4122 version 5 layout over SHA-1), so UIDs derived from
 * different inputs do not collide in practice.
 */
export function deriveUid(...parts: readonly string[]): string {
  const hash = createHash('sha1');
  for (const part of parts) {
    // Length-prefix each part so ("ab","c") and ("a","bc") differ.
    hash.update(`${Buffer.byteLength(part)}:${part};`);
  }
  const bytes = hash.digest().subarray(0, 16);
  bytes[6] = (bytes[6]! & 0x0f) | 0x50; // version 5
  bytes[8] = (bytes[8]! & 0x3f) | 0x80; // RFC 4122 variant
  return `2.25.${BigInt(`0x${bytes.toString('hex')}`).toString(10)}`;
}

/** A fresh random UID, for objects that must never repeat. */
export function randomUid(): string {
  return `2.25.${BigInt(`0x${randomUUID().replace(/-/g, '')}`).toString(10)}`;
}

const UID_PATTERN = /^(0|[1-9][0-9]*)(\.(0|[1-9][0-9]*))*$/;

/** PS3.5 9.1: digits and dots, no leading zeros in a component, at most 64 characters. */
export function isValidUid(uid: string): boolean {
  return uid.length > 0 && uid.length <= 64 && UID_PATTERN.test(uid);
}
