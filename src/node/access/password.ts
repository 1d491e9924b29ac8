/**
 * Password hashing for the reading room's local users (issue #13 Deliver 6, ADR 0174):
 * scrypt from node:crypto — memory-hard, no native add-on — with a random 16-byte salt per
 * user and the parameters stored in the hash, so that they can be raised later without
 * invalidating the passwords already set. Verification compares in constant time.
 *
 * Stored form (PHC string format): `$scrypt$ln=15,r=8,p=3$<salt base64>$<key base64>`.
 */
import { randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto';
import { RadiolensError } from '../../foundation/core/index.js';

export interface ScryptParameters {
  /** log2 of the CPU/memory cost N. */
  readonly ln: number;
  /** Block size. */
  readonly r: number;
  /** Parallelisation (run sequentially here: cost, not memory, grows with it). */
  readonly p: number;
}

/**
 * OWASP's scrypt setting with 32 MiB of memory per hash (N=2^15, r=8, p=3): an attacker's GPU
 * or ASIC pays that memory for every guess. The node pays it once per login, off the event
 * loop (libuv's thread pool): measured 0.9–1.2 s per verification on the 2-core development
 * machine at nice 10 while a model trained beside it (ADR 0174).
 */
export const SCRYPT_DEFAULTS: ScryptParameters = { ln: 15, r: 8, p: 3 };
const SALT_BYTES = 16;
const KEY_BYTES = 32;
/** Below this a stored hash is refused as too weak (it cannot have come from us). */
const MIN_LN = 14;
/** Longer passwords are refused before hashing: scrypt's cost should not be theirs to set. */
export const MAX_PASSWORD_LENGTH = 1024;
export const MIN_PASSWORD_LENGTH = 12;

function derive(
  password: string,
  salt: Buffer,
  params: ScryptParameters,
  keyBytes: number,
): Promise<Buffer> {
  const options: ScryptOptions = {
    N: 2 ** params.ln,
    r: params.r,
    p: params.p,
    // scrypt needs 128·N·r bytes; leave room above it (Node's default cap is 32 MiB).
    maxmem: 2 * 128 * 2 ** params.ln * params.r + 1024 * 1024,
  };
  return new Promise((resolve, reject) =>
    scrypt(password.normalize('NFC'), salt, keyBytes, options, (error, key) =>
      error === null ? resolve(key) : reject(error),
    ),
  );
}

/** A problem with a new password, or undefined when it is acceptable. */
export function passwordProblem(password: string): string | undefined {
  if (password.length < MIN_PASSWORD_LENGTH) {
    return `a password has at least ${MIN_PASSWORD_LENGTH} characters (a passphrase of a few words is easiest)`;
  }
  if (password.length > MAX_PASSWORD_LENGTH) {
    return `a password has at most ${MAX_PASSWORD_LENGTH} characters`;
  }
  return undefined;
}

export async function hashPassword(
  password: string,
  params: ScryptParameters = SCRYPT_DEFAULTS,
): Promise<string> {
  const problem = passwordProblem(password);
  if (problem !== undefined) throw new RadiolensError('E_BAD_INPUT', problem);
  const salt = randomBytes(SALT_BYTES);
  const key = await derive(password, salt, params, KEY_BYTES);
  return `$scrypt$ln=${params.ln},r=${params.r},p=${params.p}$${salt.toString('base64')}$${key.toString('base64')}`;
}

interface ParsedHash {
  readonly params: ScryptParameters;
  readonly salt: Buffer;
  readonly key: Buffer;
}

function parseHash(stored: string): ParsedHash | undefined {
  const match =
    /^\$scrypt\$ln=(\d{1,2}),r=(\d{1,2}),p=(\d{1,2})\$([A-Za-z0-9+/=]+)\$([A-Za-z0-9+/=]+)$/.exec(
      stored,
    );
  if (match === null) return undefined;
  const params = { ln: Number(match[1]), r: Number(match[2]), p: Number(match[3]) };
  if (params.ln < MIN_LN || params.ln > 22 || params.r < 1 || params.p < 1) return undefined;
  const salt = Buffer.from(match[4]!, 'base64');
  const key = Buffer.from(match[5]!, 'base64');
  if (salt.length < SALT_BYTES || key.length < 16) return undefined;
  return { params, salt, key };
}

/** Hashed once, so that a login for an unknown user costs what a wrong password costs. */
let decoy: Promise<string> | undefined;

/**
 * Whether `password` matches `stored`. `stored` undefined (no such user, or a disabled one)
 * still spends one full scrypt, so the answer time does not say whether the user exists.
 * A stored value that is not one of our hashes never matches.
 */
export async function verifyPassword(
  password: string,
  stored: string | undefined,
): Promise<boolean> {
  if (password.length > MAX_PASSWORD_LENGTH) return false;
  decoy ??= hashPassword('decoy password, never matches');
  const parsed = parseHash(stored ?? (await decoy));
  if (parsed === undefined) return false;
  const key = await derive(password, parsed.salt, parsed.params, parsed.key.length);
  // Equal lengths by construction: timingSafeEqual never throws and leaks no prefix length.
  return timingSafeEqual(key, parsed.key) && stored !== undefined;
}
