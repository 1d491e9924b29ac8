/**
 * Folder destination: each file is copied to <path>/<studyUid>/<file name> with an atomic
 * write, so a reader of the folder never sees half a file and a resend replaces the file
 * with identical bytes.
 */
import { basename, join } from 'node:path';
import { describeError, writeFileAtomic } from '../../foundation/core/index.js';
import type { DeliveryPayload, Destination } from './destinations.js';
import {
  DELIVERED,
  readResultFile,
  rejected,
  retry,
  type SendOutcome,
  type Sender,
} from './sender.js';

type FolderDestination = Extract<Destination, { kind: 'folder' }>;

/** A study UID is digits and dots; anything else would be a path trick, not a UID. */
function safeSegment(uid: string): string | undefined {
  return /^[0-9.]{1,64}$/.test(uid) && !/^\.+$/.test(uid) ? uid : undefined;
}

export class FolderSender implements Sender<FolderDestination> {
  async send(
    destination: FolderDestination,
    payloads: readonly DeliveryPayload[],
  ): Promise<SendOutcome[]> {
    const outcomes: SendOutcome[] = [];
    for (const payload of payloads) outcomes.push(await this.copy(destination, payload));
    return outcomes;
  }

  private async copy(
    destination: FolderDestination,
    payload: DeliveryPayload,
  ): Promise<SendOutcome> {
    const study = safeSegment(payload.studyInstanceUid);
    if (study === undefined) return rejected('study instance UID is not a valid UID');
    const bytes = await readResultFile(payload.file);
    if (!Buffer.isBuffer(bytes)) return bytes;
    try {
      await writeFileAtomic(join(destination.path, study, basename(payload.file)), bytes);
      return DELIVERED;
    } catch (error) {
      // A full or unmounted disk may come back; retry.
      return retry(`cannot write into ${destination.path}: ${describeError(error)}`);
    }
  }
}
