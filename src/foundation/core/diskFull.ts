/**
 * Whether an error, or any error it was caused by, is a full disk (or a full quota): this
 * host's own trouble, which the work it stopped is retried after (ADR 0193), never the
 * sender's or the input's fault. An error that crossed from the analysis thread keeps only its
 * message, which names the errno.
 */
export function diskFull(error: unknown): boolean {
  for (let e: unknown = error, depth = 0; e instanceof Error && depth < 8; depth++) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOSPC' || code === 'EDQUOT') return true;
    if (code === undefined && /^(?:Error: )?(?:ENOSPC|EDQUOT): /.test(e.message)) return true;
    e = e.cause;
  }
  return false;
}
