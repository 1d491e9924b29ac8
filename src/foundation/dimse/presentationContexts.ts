/**
 * Which presentation contexts the storage SCP accepts (ADR 0096): Verification, and every
 * standard storage SOP class, each in the first transfer syntax the caller proposes that the
 * store can keep untouched and our reader can parse later. Accepting the caller's first
 * choice avoids transcoding on the sender's side, so what we store is what it had.
 */
import {
  EXPLICIT_VR_LITTLE_ENDIAN,
  IMPLICIT_VR_LITTLE_ENDIAN,
  supportedTransferSyntaxes,
} from '../dicom/index.js';

export const VERIFICATION_SOP_CLASS = '1.2.840.10008.1.1';

/** Standard storage SOP classes outside the 1.2.840.10008.5.1.4.1.1 arc (PS3.4 B.5). */
const OTHER_STORAGE_SOP_CLASSES: ReadonlySet<string> = new Set([
  '1.2.840.10008.5.1.4.34.7', // RT Beams Delivery Instruction Storage
  '1.2.840.10008.5.1.4.34.10', // RT Patient Position Acquisition Instruction Storage
  '1.2.840.10008.5.1.4.38.1', // Hanging Protocol Storage
  '1.2.840.10008.5.1.4.39.1', // Color Palette Storage
  '1.2.840.10008.5.1.4.43.1', // Generic Implant Template Storage
  '1.2.840.10008.5.1.4.44.1', // Implant Assembly Template Storage
  '1.2.840.10008.5.1.4.45.1', // Implant Template Group Storage
]);

/**
 * True for the standard storage SOP classes: the whole 1.2.840.10008.5.1.4.1.1 arc (images,
 * SR, waveforms, RT, presentation states, encapsulated documents, raw data…) and the few
 * listed above. Private SOP classes are refused: their content cannot be routed to a model.
 */
export function isStorageSopClass(uid: string): boolean {
  return uid.startsWith('1.2.840.10008.5.1.4.1.1.') || OTHER_STORAGE_SOP_CLASSES.has(uid);
}

/** Transfer syntaxes accepted for storage: everything src/dicom can read. */
export const STORAGE_TRANSFER_SYNTAXES: ReadonlySet<string> = new Set(
  supportedTransferSyntaxes().map((ts) => ts.uid),
);

/** Verification is answered in the native syntaxes only (it has no dataset). */
const VERIFICATION_TRANSFER_SYNTAXES: ReadonlySet<string> = new Set([
  IMPLICIT_VR_LITTLE_ENDIAN,
  EXPLICIT_VR_LITTLE_ENDIAN,
]);

export type ContextDecision =
  | { readonly accept: true; readonly transferSyntaxUid: string }
  | { readonly accept: false; readonly reason: 'abstract-syntax' | 'transfer-syntax' };

export function decidePresentationContext(
  abstractSyntaxUid: string,
  proposedTransferSyntaxUids: readonly string[],
): ContextDecision {
  const accepted =
    abstractSyntaxUid === VERIFICATION_SOP_CLASS
      ? VERIFICATION_TRANSFER_SYNTAXES
      : isStorageSopClass(abstractSyntaxUid)
        ? STORAGE_TRANSFER_SYNTAXES
        : undefined;
  if (accepted === undefined) return { accept: false, reason: 'abstract-syntax' };
  const chosen = proposedTransferSyntaxUids.find((uid) => accepted.has(uid));
  if (chosen === undefined) return { accept: false, reason: 'transfer-syntax' };
  return { accept: true, transferSyntaxUid: chosen };
}
