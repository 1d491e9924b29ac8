/**
 * Part10Receiver: where our SCP and pull's C-GET have dcmjs-dimse put a C-STORE's dataset
 * fragments (its `createStoreWritableStream` hook). The File Meta Information is known from
 * the C-STORE command before the first fragment arrives (ADR 0095), so the receiver starts
 * with it, keeps the fragments as they come, and assembles the Part 10 file with a single
 * copy: the default stream copies into chunks, concatenates, and a wrapping copied once more
 * (ADR 0117). A transfer that is aborted never finishes, so its fragments are simply dropped.
 */
import { Writable } from 'node:stream';
import dcmjsDimse from 'dcmjs-dimse';
import { part10Header, type FileMetaFields } from './part10.js';

/**
 * dcmjs-dimse waits for 'drain' when write() returns false; fragments are taken synchronously,
 * so a high-water mark above any PDU keeps write() true and the wait never happens.
 */
const NEVER_BACKPRESSURE = 1 << 30;

export class Part10Receiver extends Writable {
  private readonly fragments: Uint8Array[] = [];
  private byteLength: number;

  constructor(meta: FileMetaFields) {
    super({ highWaterMark: NEVER_BACKPRESSURE });
    const header = part10Header(meta);
    this.fragments.push(header);
    this.byteLength = header.byteLength;
  }

  override _write(fragment: Buffer, _encoding: BufferEncoding, done: () => void): void {
    // dcmjs-dimse hands over views of PDUs it no longer touches: keep them, do not copy.
    this.fragments.push(fragment);
    this.byteLength += fragment.byteLength;
    done();
  }

  /** The whole file, once the last fragment has been written; call once. */
  received(): Uint8Array {
    const bytes = Buffer.allocUnsafeSlow(this.byteLength);
    let offset = 0;
    for (const fragment of this.fragments) {
      bytes.set(fragment, offset);
      offset += fragment.byteLength;
    }
    this.fragments.length = 0;
    return bytes;
  }
}

const { Dataset } = dcmjsDimse;
type DimseDataset = dcmjsDimse.Dataset;
type DimsePresentationContext = dcmjsDimse.association.PresentationContext;
type DimseCStoreRequest = dcmjsDimse.requests.CStoreRequest;

const receivedFiles = new WeakMap<DimseDataset, Uint8Array>();

/** The body of a `createStoreWritableStream` override. */
export function receivePart10(
  acceptedPresentationContext: DimsePresentationContext,
  request: DimseCStoreRequest,
): Part10Receiver {
  return new Part10Receiver({
    sopClassUid: request.getAffectedSopClassUid(),
    sopInstanceUid: request.getAffectedSopInstanceUid(),
    transferSyntaxUid: acceptedPresentationContext.getAcceptedTransferSyntaxUid() ?? '',
  });
}

/**
 * The body of a `createDatasetFromStoreWritableStream` override: a placeholder Dataset that
 * carries the transfer syntax, behind which receivedPart10 finds the file.
 */
export function keepReceivedPart10(
  writable: Writable,
  acceptedPresentationContext: DimsePresentationContext,
  callback: (dataset: DimseDataset) => void,
): void {
  const placeholder = new Dataset(
    {},
    acceptedPresentationContext.getAcceptedTransferSyntaxUid() ?? '',
  );
  if (writable instanceof Part10Receiver) receivedFiles.set(placeholder, writable.received());
  callback(placeholder);
}

/** The file behind a placeholder from keepReceivedPart10, if it is one. */
export function receivedPart10(placeholder: DimseDataset | undefined): Uint8Array | undefined {
  return placeholder === undefined ? undefined : receivedFiles.get(placeholder);
}
