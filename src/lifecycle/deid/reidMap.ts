/**
 * The re-identification map (ADR 0066): what links pseudonyms back to the originals, so that
 * a result computed on de-identified data can be returned to the source study. It lives in
 * its own directory (mode 0700, files 0600), never inside an output, and every access is
 * appended to a hash-chained audit log: any edit or deletion of past entries breaks the chain
 * and verifyAuditLog() reports it.
 */
import { createHash } from 'node:crypto';
import { appendFile, chmod, mkdir, readFile, stat } from 'node:fs/promises';
import { join, relative, resolve, isAbsolute } from 'node:path';
import { userInfo } from 'node:os';
import { RadiolensError } from '../../foundation/core/index.js';
import type { ReidentificationFacts } from './deidentify.js';

export type MapEntry =
  | { readonly type: 'uid'; readonly original: string; readonly pseudonym: string }
  | {
      readonly type: 'patient';
      readonly patientId: string;
      readonly issuerOfPatientId: string;
      readonly pseudonym: string;
      readonly dateShiftDays: number | null;
    };

export interface AuditEntry {
  readonly seq: number;
  readonly time: string;
  readonly actor: string;
  readonly action: 'record' | 'lookup';
  readonly detail: string;
  readonly prev: string;
  readonly hash: string;
}

const MAP_FILE = 'map.jsonl';
const AUDIT_FILE = 'audit.jsonl';
const GENESIS = '0'.repeat(64);

function entryHash(entry: Omit<AuditEntry, 'hash'>): string {
  return createHash('sha256').update(JSON.stringify(entry)).digest('hex');
}

async function readLines(path: string): Promise<string[]> {
  try {
    return (await readFile(path, 'utf8')).split('\n').filter((l) => l !== '');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
}

/** Refuse a map directory inside (or equal to) a directory that is being shared. */
export function assertMapOutside(mapDir: string, sharedDir: string): void {
  const rel = relative(resolve(sharedDir), resolve(mapDir));
  if (rel === '' || (!rel.startsWith('..') && !isAbsolute(rel))) {
    throw new RadiolensError(
      'E_DEID_CONFIG',
      `the re-identification map ${mapDir} is inside the output ${sharedDir} — keep it apart from the de-identified data (e.g. under ~/.radiolens/reid)`,
      { subject: mapDir },
    );
  }
}

export class ReidentificationMap {
  readonly #known = new Set<string>();
  #lastHash = GENESIS;
  #seq = 0;

  private constructor(
    readonly dir: string,
    readonly actor: string,
  ) {}

  /** Open (creating if needed) a map directory. `actor` is recorded with every access. */
  static async open(
    dir: string,
    actor: string = userInfo().username,
  ): Promise<ReidentificationMap> {
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const info = await stat(dir);
    if ((info.mode & 0o077) !== 0) {
      throw new RadiolensError(
        'E_DEID_CONFIG',
        `re-identification map directory ${dir} is accessible by group or others — run chmod 700 on it`,
        { subject: dir },
      );
    }
    const map = new ReidentificationMap(dir, actor);
    for (const line of await readLines(join(dir, MAP_FILE))) map.#known.add(line);
    const audit = await readLines(join(dir, AUDIT_FILE));
    const last = audit.at(-1);
    if (last !== undefined) {
      const entry = JSON.parse(last) as AuditEntry;
      map.#lastHash = entry.hash;
      map.#seq = entry.seq + 1;
    }
    return map;
  }

  async #append(file: string, lines: readonly string[]): Promise<void> {
    if (lines.length === 0) return;
    const path = join(this.dir, file);
    await appendFile(path, `${lines.join('\n')}\n`, { mode: 0o600 });
    await chmod(path, 0o600);
  }

  async #audit(action: AuditEntry['action'], detail: string): Promise<void> {
    const body = {
      seq: this.#seq,
      time: new Date().toISOString(),
      actor: this.actor,
      action,
      detail,
      prev: this.#lastHash,
    };
    const entry: AuditEntry = { ...body, hash: entryHash(body) };
    await this.#append(AUDIT_FILE, [JSON.stringify(entry)]);
    this.#lastHash = entry.hash;
    this.#seq += 1;
  }

  /** Record the links of one de-identified object; `context` names the batch for the audit. */
  async record(facts: readonly ReidentificationFacts[], context: string): Promise<number> {
    const lines: string[] = [];
    const add = (entry: MapEntry): void => {
      const line = JSON.stringify(entry);
      if (this.#known.has(line)) return;
      this.#known.add(line);
      lines.push(line);
    };
    for (const f of facts) {
      add({
        type: 'patient',
        patientId: f.patientId,
        issuerOfPatientId: f.issuerOfPatientId,
        pseudonym: f.pseudonymousPatientId,
        dateShiftDays: f.dateShiftDays ?? null,
      });
      for (const [original, pseudonym] of f.uids) add({ type: 'uid', original, pseudonym });
    }
    await this.#append(MAP_FILE, lines);
    await this.#audit('record', `${context}: ${lines.length} new entries`);
    return lines.length;
  }

  async #entries(): Promise<MapEntry[]> {
    return (await readLines(join(this.dir, MAP_FILE))).map((l) => JSON.parse(l) as MapEntry);
  }

  /** The original UID behind a pseudonymous one; the lookup and its purpose are audited. */
  async originalUid(pseudonym: string, purpose: string): Promise<string | undefined> {
    await this.#audit('lookup', `uid ${pseudonym} for: ${purpose}`);
    const hit = (await this.#entries()).find((e) => e.type === 'uid' && e.pseudonym === pseudonym);
    return hit?.type === 'uid' ? hit.original : undefined;
  }

  /** The original patient behind a pseudonymous Patient ID; audited. */
  async originalPatient(
    pseudonym: string,
    purpose: string,
  ): Promise<Extract<MapEntry, { type: 'patient' }> | undefined> {
    await this.#audit('lookup', `patient ${pseudonym} for: ${purpose}`);
    const hit = (await this.#entries()).find(
      (e) => e.type === 'patient' && e.pseudonym === pseudonym,
    );
    return hit?.type === 'patient' ? hit : undefined;
  }

  /** Check the audit chain; returns the entries, or throws naming the first broken one. */
  async verifyAuditLog(): Promise<AuditEntry[]> {
    const entries = (await readLines(join(this.dir, AUDIT_FILE))).map(
      (l) => JSON.parse(l) as AuditEntry,
    );
    let prev = GENESIS;
    entries.forEach((entry, i) => {
      const { hash, ...body } = entry;
      if (entry.seq !== i || entry.prev !== prev || entryHash(body) !== hash) {
        throw new RadiolensError(
          'E_DEID_CONFIG',
          `audit log ${join(this.dir, AUDIT_FILE)} was altered at entry ${i} — treat the map as compromised and investigate`,
          { subject: this.dir },
        );
      }
      prev = hash;
    });
    return entries;
  }
}
