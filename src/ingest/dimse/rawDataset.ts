/**
 * Received C-STORE datasets kept as the bytes that came over the network. dcmjs-dimse would
 * parse each into a dcmjs dataset (slow, and not what we store: ADR 0095); its hook
 * `createDatasetFromStoreWritableStream` gets instead a placeholder Dataset that carries only
 * the transfer syntax, and the bytes are looked up by that placeholder. Used by our SCP and by
 * `pull`'s C-GET, which receive C-STOREs on different dcmjs-dimse classes.
 */
import type { Writable } from 'node:stream';
import dcmjsDimse from 'dcmjs-dimse';

const { Dataset } = dcmjsDimse;
type DimseDataset = dcmjsDimse.Dataset;
type DimsePresentationContext = dcmjsDimse.association.PresentationContext;

const receivedBytes = new WeakMap<DimseDataset, Uint8Array>();

/** The body of a `createDatasetFromStoreWritableStream` override. */
export function keepReceivedDatasetBytes(
  writable: Writable,
  acceptedPresentationContext: DimsePresentationContext,
  callback: (dataset: DimseDataset) => void,
): void {
  const bytes = (writable as Writable & { toBuffer(): Buffer }).toBuffer();
  const placeholder = new Dataset(
    {},
    acceptedPresentationContext.getAcceptedTransferSyntaxUid() ?? '',
  );
  receivedBytes.set(placeholder, bytes);
  callback(placeholder);
}

/** The bytes behind a placeholder from keepReceivedDatasetBytes, if it is one. */
export function receivedDatasetBytes(
  placeholder: DimseDataset | undefined,
): Uint8Array | undefined {
  return placeholder === undefined ? undefined : receivedBytes.get(placeholder);
}
