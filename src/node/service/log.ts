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

const LEVELS: Readonly<Record<LogLevel, number>> = { debug: 0, info: 1, warn: 2, error: 3 };

/** The least level written; `RADIOLENS_LOG_LEVEL=debug` adds debug records (ADR 0133). */
export const LOG_LEVEL_ENV = 'RADIOLENS_LOG_LEVEL';

function minimumLevel(): LogLevel {
  const wanted = process.env[LOG_LEVEL_ENV];
  return wanted === 'debug' || wanted === 'warn' || wanted === 'error' ? wanted : 'info';
}

/** A stack frame line as V8 writes it ("    at fn (file:line:col)"). */
const STACK_FRAME = /\n\s+at\s[\s\S]*$/;

/**
 * Drops stack frames from a field: a stack names our source layout and, worse, may carry
 * values from the failing call. It is written only at debug level, as its own record.
 */
function withoutStack(value: string): string {
  return value.replace(STACK_FRAME, '');
}

/** Writes JSON lines to `write` (stderr by default). */
export function createLogger(
  write: (line: string) => void = (line) => process.stderr.write(line),
  now: () => Date = () => new Date(),
  least: LogLevel = minimumLevel(),
): NodeLogger {
  const log = (level: LogLevel, event: string, fields: LogFields = {}): void => {
    if (LEVELS[level] < LEVELS[least]) return;
    const clean: Record<string, string | number | boolean | null | undefined> = {};
    for (const [name, value] of Object.entries(fields)) {
      clean[name] = typeof value === 'string' && level !== 'debug' ? withoutStack(value) : value;
    }
    write(`${JSON.stringify({ time: now().toISOString(), level, event, ...clean })}\n`);
  };
  return {
    log,
    info: (event, fields) => log('info', event, fields),
    warn: (event, fields) => log('warn', event, fields),
    error: (event, fields) => log('error', event, fields),
  };
}

/**
 * One record per condition per interval (issue #16: a full disk once wrote
 * "stability-check-failed" 6,400 times a minute). The first occurrence is written at once;
 * repeats within `intervalMs` are counted, and the next record written for that condition
 * carries `suppressed`, the number left out since the previous one.
 */
export class RateLimitedLog {
  private readonly windows = new Map<string, { since: number; suppressed: number }>();

  constructor(
    private readonly logger: NodeLogger,
    private readonly intervalMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** `condition` names what repeats (default: the event); different conditions never merge. */
  log(level: LogLevel, event: string, fields: LogFields = {}, condition = event): void {
    const key = `${event}\u0000${condition}`;
    const at = this.now();
    const window = this.windows.get(key);
    if (window !== undefined && at - window.since < this.intervalMs) {
      window.suppressed++;
      return;
    }
    const suppressed = window?.suppressed ?? 0;
    this.windows.set(key, { since: at, suppressed: 0 });
    this.logger.log(level, event, suppressed > 0 ? { ...fields, suppressed } : fields);
  }
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
