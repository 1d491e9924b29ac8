import { RadiolensError } from '../core/index.js';

/**
 * Value Representation rules of PS3.5 6.2, checked on every value Radiolens encodes (ADR 0140).
 * A value that does not fit its VR is an E_VR_INVALID naming the attribute, never a file a
 * strict PACS rejects later. Fitting a long value (shortening a display name, keeping a model
 * id intact) is the writer's job, per attribute, before it gets here: this module only judges.
 *
 * Lengths are counted in bytes of the encoded value. PS3.5 counts "characters", but with UTF-8
 * (ISO_IR 192) a validator such as dciodvfy counts bytes, and a value within the byte limit is
 * within the character limit too — so bytes is the rule that satisfies both readings.
 */

/** The character sets the writer can declare (0008,0005) and what each may encode. */
export type CharacterRepertoire = 'default' | 'latin1' | 'utf8';

export function repertoireOf(specificCharacterSet: unknown): CharacterRepertoire {
  const declared = Array.isArray(specificCharacterSet)
    ? specificCharacterSet[0]
    : specificCharacterSet;
  if (typeof declared !== 'string' || declared.trim() === '') return 'default';
  if (declared.trim() === 'ISO_IR 192') return 'utf8';
  if (declared.trim() === 'ISO_IR 100') return 'latin1';
  // Any other declared set: the encoder writes Latin-1 bytes, so only ASCII is safe to claim.
  return 'default';
}

interface TextRule {
  /** Maximum bytes per value (after backslash splitting for multi-valued VRs). */
  max: number;
  /** Whether the value's characters are limited to a fixed ASCII pattern. */
  pattern?: RegExp;
  patternText?: string;
  /** Free text VRs may hold the declared repertoire; code-like VRs only the default one. */
  freeText: boolean;
  /** Whether a backslash separates values (false for LT, ST, UT, UR: it is a character). */
  multiValued: boolean;
  /** Control characters allowed besides ESC (text VRs allow CR LF FF TAB). */
  controls: RegExp;
}

/** A character test from code points, so the rule reads as the standard's table. */
function controls(allowed: readonly number[]): RegExp {
  const banned = [...Array(0x20).keys(), 0x7f].filter((c) => !allowed.includes(c));
  return new RegExp(`[${banned.map((c) => `\\u${c.toString(16).padStart(4, '0')}`).join('')}]`);
}
// ESC (1B) is allowed everywhere for ISO 2022 code extensions; text VRs also allow
// TAB, LF, FF and CR (PS3.5 6.1.3).
const NO_CONTROLS = controls([0x1b]);
const TEXT_CONTROLS = controls([0x1b, 0x09, 0x0a, 0x0c, 0x0d]);

/** PS3.5 6.2: each PN component group holds at most 64 characters. */
const PN_GROUP_MAX = 64;

const TEXT_RULES: Record<string, TextRule> = {
  AE: { max: 16, freeText: false, multiValued: true, controls: NO_CONTROLS },
  AS: {
    max: 4,
    pattern: /^\d{3}[DWMY]$/,
    patternText: 'nnnD, nnnW, nnnM or nnnY',
    freeText: false,
    multiValued: true,
    controls: NO_CONTROLS,
  },
  CS: {
    max: 16,
    pattern: /^[A-Z0-9_ ]*$/,
    patternText: 'upper-case letters, digits, space and underscore',
    freeText: false,
    multiValued: true,
    controls: NO_CONTROLS,
  },
  DA: {
    max: 8,
    pattern: /^\d{8}$/,
    patternText: 'YYYYMMDD',
    freeText: false,
    multiValued: true,
    controls: NO_CONTROLS,
  },
  DS: {
    max: 16,
    pattern: /^ *[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)? *$/,
    patternText: 'a decimal number such as -12.5 or 1e-3',
    freeText: false,
    multiValued: true,
    controls: NO_CONTROLS,
  },
  DT: {
    max: 26,
    pattern: /^\d{4}(\d{2}(\d{2}(\d{2}(\d{2}(\d{2}(\.\d{1,6})?)?)?)?)?)?([+-]\d{4})?$/,
    patternText: 'YYYYMMDDHHMMSS.FFFFFF&ZZXX',
    freeText: false,
    multiValued: true,
    controls: NO_CONTROLS,
  },
  IS: {
    max: 12,
    pattern: /^ *[+-]?\d+ *$/,
    patternText: 'an integer',
    freeText: false,
    multiValued: true,
    controls: NO_CONTROLS,
  },
  LO: { max: 64, freeText: true, multiValued: true, controls: NO_CONTROLS },
  LT: { max: 10240, freeText: true, multiValued: false, controls: TEXT_CONTROLS },
  PN: { max: 64 * 3 + 2, freeText: true, multiValued: true, controls: NO_CONTROLS },
  SH: { max: 16, freeText: true, multiValued: true, controls: NO_CONTROLS },
  ST: { max: 1024, freeText: true, multiValued: false, controls: TEXT_CONTROLS },
  TM: {
    max: 14,
    pattern: /^\d{2}(\d{2}(\d{2}(\.\d{1,6})?)?)?$/,
    patternText: 'HHMMSS.FFFFFF',
    freeText: false,
    multiValued: true,
    controls: NO_CONTROLS,
  },
  UC: { max: 0xfffffffe, freeText: true, multiValued: true, controls: NO_CONTROLS },
  UI: {
    max: 64,
    pattern: /^(0|[1-9]\d*)(\.(0|[1-9]\d*))*$/,
    patternText: 'digits in dot-separated components without leading zeros',
    freeText: false,
    multiValued: true,
    controls: NO_CONTROLS,
  },
  UR: { max: 0xfffffffe, freeText: false, multiValued: false, controls: NO_CONTROLS },
  UT: { max: 0xfffffffe, freeText: true, multiValued: false, controls: TEXT_CONTROLS },
};

const INTEGER_RANGES: Record<string, [number, number]> = {
  US: [0, 0xffff],
  SS: [-0x8000, 0x7fff],
  UL: [0, 0xffffffff],
  SL: [-0x80000000, 0x7fffffff],
};

function fail(path: string, vr: string, message: string, remedy: string): never {
  throw new RadiolensError('E_VR_INVALID', `${path} (${vr}) ${message} — ${remedy}`, {
    subject: path,
  });
}

/**
 * A text value's length as the length limits of PS3.5 6.2 count it when it is encoded in
 * `repertoire`: bytes (UTF-8 for ISO_IR 192; one per character in the single-byte sets).
 */
export function textByteLength(text: string, repertoire: CharacterRepertoire): number {
  return byteLength(text, repertoire);
}

function byteLength(text: string, repertoire: CharacterRepertoire): number {
  return repertoire === 'utf8' ? Buffer.byteLength(text, 'utf8') : text.length;
}

function checkRepertoire(
  path: string,
  vr: string,
  text: string,
  rule: TextRule,
  rep: CharacterRepertoire,
): void {
  const bad = rule.controls.exec(text);
  if (bad) {
    fail(
      path,
      vr,
      `contains control character U+${bad[0].charCodeAt(0).toString(16).padStart(4, '0')}`,
      'remove it; only text VRs (LT, ST, UT) may hold line breaks',
    );
  }
  const allowed = rule.freeText ? rep : 'default';
  for (const char of text) {
    const code = char.codePointAt(0)!;
    const ok = allowed === 'utf8' || (allowed === 'latin1' ? code <= 0xff : code <= 0x7f);
    if (!ok) {
      fail(
        path,
        vr,
        `holds "${char}", outside the ${allowed === 'default' ? 'default (ASCII)' : allowed === 'latin1' ? 'ISO_IR 100 (Latin-1)' : ''} repertoire`,
        rule.freeText
          ? 'declare Specific Character Set ISO_IR 192 for non-ASCII text'
          : `a ${vr} value is always ASCII; transliterate it`,
      );
    }
  }
}

function checkDate(path: string, vr: string, text: string): void {
  const year = Number(text.slice(0, 4));
  const month = Number(text.slice(4, 6));
  const day = Number(text.slice(6, 8));
  const date = new Date(Date.UTC(year, month - 1, day));
  if (
    date.getUTCFullYear() !== year ||
    date.getUTCMonth() !== month - 1 ||
    date.getUTCDate() !== day
  ) {
    fail(path, vr, `"${text}" is not a calendar date`, 'give a real date as YYYYMMDD');
  }
}

function checkTime(path: string, vr: string, text: string): void {
  const [hh, mm, ss] = [text.slice(0, 2), text.slice(2, 4), text.slice(4, 6)].map((p) =>
    p === '' ? 0 : Number(p),
  );
  if (hh! > 23 || mm! > 59 || ss! > 60) {
    fail(path, vr, `"${text}" is not a time of day`, 'give HHMMSS with hours < 24, minutes < 60');
  }
}

/**
 * The most a value of a text VR may hold (PS3.5 Table 6.2-1), as the encoder checks it; for PN
 * the limit of one component group. Undefined for a VR this table does not check.
 */
export function textValueMaxLength(vr: string): number | undefined {
  if (vr === 'PN') return PN_GROUP_MAX;
  return TEXT_RULES[vr]?.max;
}

/**
 * Check one element's values (already in the writer's text form: DS numbers through
 * decimalString, PN objects joined as Alphabetic=Ideographic=Phonetic). `path` names the
 * attribute for the message, e.g. "ContributingEquipmentSequence[0].ManufacturerModelName".
 */
export function checkTextValues(
  path: string,
  vr: string,
  values: readonly string[],
  repertoire: CharacterRepertoire,
): void {
  const rule = TEXT_RULES[vr];
  if (rule === undefined) return;
  if (!rule.multiValued && values.length > 1) {
    fail(path, vr, `has ${values.length} values; ${vr} holds one`, 'join them into one text');
  }
  for (const value of values) {
    if (rule.multiValued && value.includes('\\')) {
      fail(
        path,
        vr,
        `"${value}" contains a backslash, the value separator`,
        'remove it or give the values as an array',
      );
    }
    checkRepertoire(path, vr, value, rule, repertoire);
    if (vr === 'PN') {
      checkPersonName(path, value, repertoire);
      continue;
    }
    const length = byteLength(value, repertoire);
    if (length > rule.max) {
      fail(
        path,
        vr,
        `is ${length} bytes, more than the ${rule.max} a ${vr} value may hold: "${value.slice(0, 80)}${value.length > 80 ? '…' : ''}"`,
        "shorten it by the attribute's fitting rule (ADR 0140) before encoding",
      );
    }
    if (rule.pattern && value !== '' && !rule.pattern.test(value)) {
      fail(path, vr, `"${value}" is not ${rule.patternText}`, `write it as ${rule.patternText}`);
    }
    if (vr === 'DA' && value !== '') checkDate(path, vr, value);
    if (vr === 'TM' && value !== '') checkTime(path, vr, value);
    if (vr === 'DT' && value.length >= 8) checkDate(path, vr, value.slice(0, 8));
    if (vr === 'IS' && value.trim() !== '') {
      const n = Number(value);
      if (n < -0x80000000 || n > 0x7fffffff) {
        fail(path, vr, `${value} is outside the 32-bit range of IS`, 'use a smaller number');
      }
    }
  }
}

/** PN: up to three component groups (=), each ≤ 64 characters with ≤ 5 components (^). */
function checkPersonName(path: string, value: string, repertoire: CharacterRepertoire): void {
  const groups = value.split('=');
  if (groups.length > 3)
    fail(
      path,
      'PN',
      `"${value}" has more than three component groups`,
      'give Alphabetic, Ideographic and Phonetic at most',
    );
  for (const group of groups) {
    if (byteLength(group, repertoire) > PN_GROUP_MAX) {
      fail(
        path,
        'PN',
        `component group "${group}" is longer than ${PN_GROUP_MAX} bytes`,
        'shorten the name',
      );
    }
    if (group.split('^').length > 5) {
      fail(
        path,
        'PN',
        `"${group}" has more than five components`,
        'use Family^Given^Middle^Prefix^Suffix',
      );
    }
  }
}

/** Check binary-number values (US, SS, UL, SL, FL, FD) for range and finiteness. */
export function checkNumberValues(path: string, vr: string, values: readonly unknown[]): void {
  for (const raw of values) {
    if (raw === '') continue;
    const n = typeof raw === 'string' ? Number(raw) : raw;
    if (typeof n !== 'number' || Number.isNaN(n)) {
      fail(path, vr, `value ${JSON.stringify(raw)} is not a number`, 'give a number');
    }
    const range = INTEGER_RANGES[vr];
    if (range && (!Number.isInteger(n) || n < range[0] || n > range[1])) {
      fail(
        path,
        vr,
        `value ${n} is not an integer in ${range[0]}…${range[1]}`,
        `give a ${vr} in range`,
      );
    }
    if ((vr === 'FL' || vr === 'FD') && !Number.isFinite(n)) {
      fail(path, vr, `value ${n} is not finite`, 'give a finite number');
    }
  }
}
