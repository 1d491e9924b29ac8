/**
 * The keyed, deterministic functions that keep de-identified data consistent across files,
 * batches and runs (ADR 0064): one secret per installation, HMAC-SHA256 over the original
 * value. Without the secret, pseudonyms cannot be linked back or recomputed; with it, the
 * same study always gets the same UIDs, the same patient the same pseudonym and date shift.
 */
import { createHmac, randomBytes } from 'node:crypto';
import { chmod, mkdir, readFile, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import { RadiolensError, writeFileAtomic } from '../../foundation/core/index.js';

export class DeidKeys {
  readonly #secret: Buffer;

  constructor(secret: Uint8Array) {
    if (secret.byteLength < 16) {
      throw new RadiolensError(
        'E_DEID_SECRET',
        'the de-identification secret must be at least 16 bytes — generate it with createInstallationSecret',
      );
    }
    this.#secret = Buffer.from(secret);
  }

  #hmac(purpose: string, value: string): Buffer {
    return createHmac('sha256', this.#secret).update(`${purpose}\0${value}`).digest();
  }

  /** PS3.5 B.2: a 128-bit integer under 2.25, at most 44 characters. */
  remapUid(uid: string): string {
    const bytes = this.#hmac('uid', uid.trim()).subarray(0, 16);
    return `2.25.${BigInt(`0x${bytes.toString('hex')}`).toString(10)}`;
  }

  /** A stable pseudonymous Patient ID (16 characters, fits LO and SH). */
  patientPseudonym(patientKey: string): string {
    return `RL${this.#hmac('patient', patientKey).subarray(0, 7).toString('hex').toUpperCase()}`;
  }

  /**
   * Days to add to every date of this patient under the Modified Dates option: between one
   * and ten years back, so intervals between a patient's studies are preserved exactly while
   * the calendar dates no longer match the records.
   */
  dateShiftDays(patientKey: string): number {
    return -(365 + (this.#hmac('date-shift', patientKey).readUInt32BE(0) % 3288));
  }
}

/**
 * Load the installation secret, creating it (32 random bytes, mode 0600) on first use. A
 * secret readable by group or others is refused: whoever reads it can link pseudonyms.
 */
export async function loadOrCreateInstallationSecret(path: string): Promise<DeidKeys> {
  let text: string;
  try {
    const info = await stat(path);
    if ((info.mode & 0o077) !== 0) {
      throw new RadiolensError(
        'E_DEID_SECRET',
        `${path} is readable by group or others (mode ${(info.mode & 0o777).toString(8)}) — run chmod 600 on it`,
        { subject: path },
      );
    }
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    await mkdir(dirname(path), { recursive: true, mode: 0o700 });
    text = randomBytes(32).toString('hex');
    await writeFileAtomic(path, `${text}\n`);
    await chmod(path, 0o600);
  }
  const hex = text.trim();
  if (!/^[0-9a-f]{32,}$/i.test(hex)) {
    throw new RadiolensError(
      'E_DEID_SECRET',
      `${path} does not hold a hex secret — restore it from backup (pseudonyms depend on it)`,
      { subject: path },
    );
  }
  return new DeidKeys(Buffer.from(hex, 'hex'));
}
