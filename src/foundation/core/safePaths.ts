/**
 * Paths built from what a file or a peer says (issue #16): a Study Instance UID of `..` once
 * made `analyze` write outside `--out`. A UID becomes a path segment only after it has been
 * checked as a UID (PS3.5 §9.1: digits and dots, no empty or zero-led component, at most 64
 * characters), and every path built under a root is checked to be inside it.
 */
import { isAbsolute, join, relative, resolve } from 'node:path';
import { RadiolensError } from './errors.js';
import { isValidUid } from './uids.js';

/** The UID itself when it may name a folder or file; E_BAD_INPUT otherwise. */
export function uidPathSegment(uid: string, what: string, source: string): string {
  if (!isValidUid(uid)) {
    const shown = uid.length > 70 ? `${uid.slice(0, 64)}… (${uid.length} characters)` : uid;
    throw new RadiolensError(
      'E_BAD_INPUT',
      `${source} has an invalid ${what} ${JSON.stringify(shown)} (a UID is 1–64 digits and dots, PS3.5 §9.1) — it was not used; fix the sender`,
      { subject: source },
    );
  }
  return uid;
}

/**
 * `join(root, ...segments)`, refused with E_BAD_INPUT when the result is not strictly
 * inside `root` (a `..`, an absolute segment, an empty one that lands on the root).
 */
export function pathInside(root: string, ...segments: readonly string[]): string {
  const path = join(root, ...segments);
  const rel = relative(resolve(root), resolve(path));
  if (rel === '' || rel.startsWith('..') || isAbsolute(rel)) {
    throw new RadiolensError(
      'E_BAD_INPUT',
      `the path ${JSON.stringify(segments.join('/'))} would leave ${root} — refused`,
    );
  }
  return path;
}
