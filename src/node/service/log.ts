/**
 * Structured logs of the node: one JSON object per line on stderr,
 * `{time, level, event, ...fields}`. Log lines never carry patient data: no names, IDs or
 * dates, and no UIDs either (a UID can be looked up in the PACS to find the patient). A line
 * that must refer to a study or instance uses `uidTag(uid)`, a short sha256 prefix that an
 * operator can match against `radiolens` tooling but that leads nowhere on its own.
 */
import { createHash } from 'node:crypto';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

export type LogFields = Readonly<Record<string, string | number | boolean | null | undefined>>;

export interface NodeLogger {
  log(level: LogLevel, event: string, fields?: LogFields): void;
  info(event: string, fields?: LogFields): void;
  warn(event: string, fields?: LogFields): void;
  error(event: string, fields?: LogFields): void;
}

/** A 12-hex-digit sha256 prefix of a UID: enough to correlate lines, useless to re-identify. */
export function uidTag(uid: string): string {
  return createHash('sha256').update(uid).digest('hex').slice(0, 12);
}

/** Writes JSON lines to `write` (stderr by default). */
export function createLogger(
  write: (line: string) => void = (line) => process.stderr.write(line),
  now: () => Date = () => new Date(),
): NodeLogger {
  const log = (level: LogLevel, event: string, fields: LogFields = {}): void => {
    write(`${JSON.stringify({ time: now().toISOString(), level, event, ...fields })}\n`);
  };
  return {
    log,
    info: (event, fields) => log('info', event, fields),
    warn: (event, fields) => log('warn', event, fields),
    error: (event, fields) => log('error', event, fields),
  };
}

/** Five or more dot-separated numbers: a DICOM UID (an IPv4 address has four). */
const UID_PATTERN = /(?<![\d.])\d+(?:\.\d+){4,}(?!\.?\d)/g;

/**
 * Replaces every UID in a message (error texts quote them, file paths contain them) by its
 * tag, so that an error can be logged without leaking a study's identity.
 */
export function scrub(message: string): string {
  return message.replace(UID_PATTERN, (uid) => `uid:${uidTag(uid)}`);
}
