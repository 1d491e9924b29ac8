/**
 * The de-identifier: applies PS3.15 Table E.1-1 (as generated into rules.generated.ts) to one
 * DICOM object, recursing into sequences at any depth, and records what it did (E.1.1).
 */
import { deriveUid, RadiolensError } from '../../foundation/core/index.js';
import { resolveAction, type ResolvedAction } from './actions.js';
import {
  readTaggedFile,
  readDicomHeader,
  stringValue,
  stringValues,
  writeTaggedFile,
} from './dicomIo.js';
import {
  type TaggedDataset,
  type TaggedElement,
  type TaggedFile,
  EXPLICIT_VR_LITTLE_ENDIAN,
  IMPLICIT_VR_LITTLE_ENDIAN,
} from '../../foundation/dicom/index.js';
import type { DeidKeys } from './keys.js';
import { EMPTY_LIST, KEEP_LIST, STRUCTURED_CONTENT } from './keepList.js';
import { BASIC_PROFILE_CODE, OPTION_CODES, type DeidOption } from './options.js';
import {
  blankRegions,
  burnedInTextRisk,
  findPixelCleaningRule,
  type PixelCleaningRule,
} from './pixels.js';
import { pixelDataExtent, type ByteRange } from './pixelLocator.js';
import { isPrivateTag, PRIVATE_ATTRIBUTES_ROW, rowForTag, safePrivateRow } from './rules.js';
import { TABLE_E1_1, TABLE_E1_1_EDITION } from './rules.generated.js';
import { cleanText, dummyValues, identifyingPatterns, isTextVr, shiftDateValue } from './values.js';

export interface DeidConfig {
  readonly options: ReadonlySet<DeidOption>;
  readonly keys: DeidKeys;
  /** Region rules for Clean Pixel Data; used only when that option is in force. */
  readonly pixelRules?: readonly PixelCleaningRule[];
}

/** How often each action was applied, e.g. { X: 40, U: 4, 'X unlisted': 12 }. */
export type ActionCounts = Record<string, number>;

/** What links a de-identified object back to its source (for the re-identification map). */
export interface ReidentificationFacts {
  readonly patientId: string;
  readonly issuerOfPatientId: string;
  readonly pseudonymousPatientId: string;
  readonly dateShiftDays: number | undefined;
  /** Every UID replaced in this object, original → replacement. */
  readonly uids: ReadonlyMap<string, string>;
}

export type DeidResult =
  | {
      readonly kind: 'deidentified';
      readonly file: TaggedFile;
      readonly counts: ActionCounts;
      readonly reid: ReidentificationFacts;
      readonly pixelsCleaned: string | undefined;
    }
  | { readonly kind: 'quarantined'; readonly reason: string };

const TAG = {
  sopClassUid: '00080016',
  sopInstanceUid: '00080018',
  studyInstanceUid: '0020000D',
  seriesInstanceUid: '0020000E',
  patientName: '00100010',
  patientId: '00100020',
  issuerOfPatientId: '00100021',
  burnedInAnnotation: '00280301',
} as const;

const IMPLEMENTATION_CLASS_UID = deriveUid('radiolens', 'deid', 'implementation');
const IMPLEMENTATION_VERSION_NAME = 'RADIOLENS_DEID1';

/** Rows whose values are, by the table, identifying (removed or replaced, never cleaned). */
const IDENTIFYING_TAGS = new Set(
  TABLE_E1_1.filter(
    (row) =>
      !row.tag.includes('x') &&
      row.tag !== 'odd-group' &&
      row.basic !== 'K' &&
      row.basic !== 'U' &&
      !Object.values(row.options).includes('C'),
  ).map((row) => row.tag),
);

function collectIdentifying(dataset: TaggedDataset, out: Set<string>): void {
  for (const [tag, element] of Object.entries(dataset)) {
    if (element.vr === 'SQ') {
      for (const item of element.Value ?? []) collectIdentifying(item as TaggedDataset, out);
    } else if (IDENTIFYING_TAGS.has(tag) && isTextVr(element.vr)) {
      for (const v of stringValues(element)) out.add(v);
    }
  }
}

function requireUid(dict: TaggedDataset, tag: string, name: string, source: string): string {
  const uid = stringValue(dict[tag]);
  if (uid === undefined || uid === '') {
    throw new RadiolensError(
      'E_DEID_MISSING_UID',
      `${source} lacks ${name} (${tag.slice(0, 4)},${tag.slice(4)}) — a composite instance without it cannot be de-identified consistently; fix or exclude the file`,
      { subject: source },
    );
  }
  return uid;
}

function bump(counts: ActionCounts, key: string): void {
  counts[key] = (counts[key] ?? 0) + 1;
}

/** Per-object state of one de-identification. */
class ObjectDeidentifier {
  readonly counts: ActionCounts = {};
  readonly uids = new Map<string, string>();
  readonly #patterns: RegExp[];

  constructor(
    private readonly config: DeidConfig,
    readonly pseudonymousPatientId: string,
    readonly dateShiftDays: number | undefined,
    identifying: Set<string>,
  ) {
    this.#patterns = identifyingPatterns(identifying);
  }

  #remap(uid: unknown): unknown {
    if (typeof uid !== 'string' || uid.trim() === '') return uid;
    const original = uid.trim();
    let replacement = this.uids.get(original);
    if (replacement === undefined) {
      replacement = this.config.keys.remapUid(original);
      this.uids.set(original, replacement);
    }
    return replacement;
  }

  dataset(input: TaggedDataset): TaggedDataset {
    const out: TaggedDataset = {};
    const keptCreators = new Set<string>();
    for (const tag of Object.keys(input)) {
      const element = input[tag]!;
      if (tag.endsWith('0000')) {
        bump(this.counts, 'X group length'); // recomputed by the writer where needed
        continue;
      }
      if (isPrivateTag(tag)) {
        if (this.#keepSafePrivate(input, tag)) {
          out[tag] = element;
          keptCreators.add(`${tag.slice(0, 4)}00${tag.slice(4, 6)}`);
          bump(this.counts, 'K safe private');
        } else if (!/^[0-9A-F]{4}00[1-9A-F][0-9A-F]$/.test(tag)) {
          bump(this.counts, `${PRIVATE_ATTRIBUTES_ROW.basic} private`);
        }
        continue;
      }
      const row = rowForTag(tag);
      if (row === undefined) {
        if (KEEP_LIST[tag] !== undefined) {
          out[tag] = this.#keep(element);
          bump(this.counts, 'K keep list');
        } else if (
          STRUCTURED_CONTENT[tag] !== undefined &&
          this.config.options.has('cleanStructuredContent')
        ) {
          const result = this.#apply(tag, element, STRUCTURED_CONTENT[tag].action);
          if (result !== undefined) out[tag] = result;
        } else if (EMPTY_LIST[tag] !== undefined) {
          out[tag] = { vr: element.vr, Value: [] };
          bump(this.counts, 'Z unlisted Type 2');
        } else {
          bump(this.counts, 'X unlisted');
        }
        continue;
      }
      const { action } = resolveAction(row, this.config.options);
      const result = this.#apply(tag, element, action);
      if (result !== undefined) out[tag] = result;
    }
    for (const creator of keptCreators) {
      const element = input[creator];
      if (element !== undefined) out[creator] = element;
    }
    return out;
  }

  #keepSafePrivate(dataset: TaggedDataset, tag: string): boolean {
    if (!this.config.options.has('retainSafePrivate')) return false;
    const block = tag.slice(4, 6);
    if (parseInt(block, 16) < 0x10) return false; // creator elements themselves
    const creator = stringValue(dataset[`${tag.slice(0, 4)}00${block}`]);
    if (creator === undefined) return false;
    return safePrivateRow(tag.slice(0, 4), tag.slice(6, 8), creator) !== undefined;
  }

  #keep(element: TaggedElement): TaggedElement {
    if (element.vr !== 'SQ') return element;
    return { vr: 'SQ', Value: (element.Value ?? []).map((i) => this.dataset(i as TaggedDataset)) };
  }

  #apply(tag: string, element: TaggedElement, action: ResolvedAction): TaggedElement | undefined {
    const vr = element.vr;
    const sequence = vr === 'SQ';
    bump(this.counts, action);
    switch (action) {
      case 'X':
        return undefined;
      case 'Z':
        return { vr, Value: [] };
      case 'K':
        return this.#keep(element);
      case 'U':
        if (sequence) return this.#keep(element);
        if (vr === 'UI') return { vr, Value: (element.Value ?? []).map((u) => this.#remap(u)) };
        return { vr, Value: dummyValues(vr) };
      case 'D':
        if (sequence) return this.#keep(element);
        if (tag === TAG.patientId) return { vr, Value: [this.pseudonymousPatientId] };
        if (vr === 'UI') return { vr, Value: (element.Value ?? []).map((u) => this.#remap(u)) };
        return { vr, Value: dummyValues(vr) };
      case 'C':
        return this.#clean(element);
    }
  }

  /** The C action: keep what can be shown to be non-identifying, remove the rest. */
  #clean(element: TaggedElement): TaggedElement | undefined {
    const vr = element.vr;
    if (vr === 'SQ') return this.#keep(element);
    if (vr === 'DA' || vr === 'DT') {
      if (this.dateShiftDays === undefined) return { vr, Value: dummyValues(vr) };
      const days = this.dateShiftDays;
      return {
        vr,
        Value: (element.Value ?? []).map((v) =>
          typeof v === 'string' ? shiftDateValue(vr, v, days) : v,
        ),
      };
    }
    // A whole-day shift leaves times of day as they were.
    if (vr === 'TM' && this.dateShiftDays !== undefined) return element;
    if (vr === 'PN') {
      return {
        vr,
        Value: (element.Value ?? []).map((v) => {
          const name = (v as { Alphabetic?: string }).Alphabetic ?? '';
          return { Alphabetic: cleanText(name, this.#patterns) };
        }),
      };
    }
    if (isTextVr(vr)) {
      return {
        vr,
        Value: (element.Value ?? []).map((v) =>
          typeof v === 'string' ? cleanText(v, this.#patterns) : v,
        ),
      };
    }
    // Numbers carry no names; bitmaps (overlay, curve data) cannot be shown clean, so go.
    if (['IS', 'DS', 'US', 'SS', 'UL', 'SL', 'FL', 'FD'].includes(vr)) return element;
    bump(this.counts, 'C removed (cannot be cleaned)');
    return undefined;
  }
}

function codeItem(code: {
  codeValue: string;
  codingSchemeDesignator: string;
  codeMeaning: string;
}) {
  return {
    '00080100': { vr: 'SH', Value: [code.codeValue] },
    '00080102': { vr: 'SH', Value: [code.codingSchemeDesignator] },
    '00080104': { vr: 'LO', Value: [code.codeMeaning] },
  } satisfies TaggedDataset;
}

/** PS3.15 E.1.1 (6)-(8) and E.3.6: say what was done, in the object itself. */
function recordDeidentification(
  dict: TaggedDataset,
  options: ReadonlySet<DeidOption>,
  pixelsCleaned: boolean,
): void {
  const applied = [...options].filter((o) => o !== 'cleanPixelData' || pixelsCleaned).sort();
  const codes = [BASIC_PROFILE_CODE, ...applied.map((o) => OPTION_CODES[o])];
  dict['00120062'] = { vr: 'CS', Value: ['YES'] };
  dict['00120063'] = {
    vr: 'LO',
    Value: [
      `Radiolens PS3.15 E.1-1 ${TABLE_E1_1_EDITION.split(' ')[0]}`,
      ...codes.map((c) => c.codeMeaning),
    ],
  };
  dict['00120064'] = { vr: 'SQ', Value: codes.map(codeItem) };
  dict['00280303'] = {
    vr: 'CS',
    Value: [
      options.has('retainLongitudinalFullDates')
        ? 'UNMODIFIED'
        : options.has('retainLongitudinalModifiedDates')
          ? 'MODIFIED'
          : 'REMOVED',
    ],
  };
  if (pixelsCleaned) dict[TAG.burnedInAnnotation] = { vr: 'CS', Value: ['NO'] };
}

/** De-identify one parsed object. `source` names it in errors and quarantine reasons. */
export function deidentifyDicom(input: TaggedFile, config: DeidConfig, source: string): DeidResult {
  const dict = input.dict;
  const sopClassUid = requireUid(dict, TAG.sopClassUid, 'SOP Class UID', source);
  requireUid(dict, TAG.sopInstanceUid, 'SOP Instance UID', source);
  const studyUid = requireUid(dict, TAG.studyInstanceUid, 'Study Instance UID', source);
  requireUid(dict, TAG.seriesInstanceUid, 'Series Instance UID', source);

  let pixelsCleaned: string | undefined;
  const risk = burnedInTextRisk(dict);
  if (risk !== undefined) {
    const rule = config.options.has('cleanPixelData')
      ? findPixelCleaningRule(dict, config.pixelRules ?? [])
      : undefined;
    if (rule === undefined) {
      return {
        kind: 'quarantined',
        reason: config.options.has('cleanPixelData')
          ? `${risk}; no Clean Pixel Data region rule matches this image`
          : `${risk}; request clean-pixel-data with a region rule to release it`,
      };
    }
    try {
      blankRegions(dict, stringValue(input.meta['00020010']) ?? '', rule.regions, source);
    } catch (error) {
      return { kind: 'quarantined', reason: `${risk}; ${(error as Error).message}` };
    }
    pixelsCleaned = rule.name;
  }

  const patientId = stringValue(dict[TAG.patientId]) ?? '';
  const issuer = stringValue(dict[TAG.issuerOfPatientId]) ?? '';
  // Without a Patient ID the study is the only safe unit: never merge unknown patients.
  const patientKey = patientId !== '' ? `${issuer}|${patientId}` : `study|${studyUid}`;
  const pseudonym = config.keys.patientPseudonym(patientKey);
  const shift = config.options.has('retainLongitudinalModifiedDates')
    ? config.keys.dateShiftDays(patientKey)
    : undefined;
  const identifying = new Set<string>();
  collectIdentifying(dict, identifying);

  const engine = new ObjectDeidentifier(config, pseudonym, shift, identifying);
  const out = engine.dataset(dict);
  // Patient's Name is Z in the table; we fill it with the pseudonym (a dummy, D) so that
  // de-identified studies of one patient stay recognisably together (ADR 0064).
  if (TAG.patientName in dict)
    out[TAG.patientName] = { vr: 'PN', Value: [{ Alphabetic: pseudonym }] };
  if (!(TAG.patientId in out)) out[TAG.patientId] = { vr: 'LO', Value: [pseudonym] };
  recordDeidentification(out, config.options, pixelsCleaned !== undefined);

  const sopInstanceUid = stringValue(out[TAG.sopInstanceUid]) ?? '';
  const meta: TaggedDataset = {
    '00020001': { vr: 'OB', Value: [new Uint8Array([0, 1]).buffer] },
    '00020002': { vr: 'UI', Value: [sopClassUid] },
    '00020003': { vr: 'UI', Value: [sopInstanceUid] },
    '00020010': {
      vr: 'UI',
      Value: [stringValue(input.meta['00020010']) ?? EXPLICIT_VR_LITTLE_ENDIAN],
    },
    '00020012': { vr: 'UI', Value: [IMPLEMENTATION_CLASS_UID] },
    '00020013': { vr: 'SH', Value: [IMPLEMENTATION_VERSION_NAME] },
  };
  return {
    kind: 'deidentified',
    file: { meta, dict: out },
    counts: engine.counts,
    pixelsCleaned,
    reid: {
      patientId,
      issuerOfPatientId: issuer,
      pseudonymousPatientId: pseudonym,
      dateShiftDays: shift,
      uids: engine.uids,
    },
  };
}

export type DeidBytesResult =
  | (Extract<DeidResult, { kind: 'deidentified' }> & { readonly bytes: Uint8Array })
  | Extract<DeidResult, { kind: 'quarantined' }>;

const ENCAPSULATED_OR_DEFLATED = /^1\.2\.840\.10008\.1\.2\.(?:4\.|5$|1\.99$)/;

/**
 * Native (uncompressed) Pixel Data must hold every frame the header declares: fewer bytes
 * mean a file cut short whose length fields were then made to agree, and a copy would hand
 * on a partial image as a whole one (issue #16).
 */
function checkNativePixelLength(
  dict: TaggedDataset,
  syntax: string,
  pixels: ByteRange,
  source: string,
): void {
  if (ENCAPSULATED_OR_DEFLATED.test(syntax)) return;
  const number = (tag: string): number | undefined => {
    const value = dict[tag]?.Value?.[0];
    const parsed = typeof value === 'number' ? value : Number(value);
    return Number.isFinite(parsed) ? parsed : undefined;
  };
  const rows = number('00280010');
  const columns = number('00280011');
  const bits = number('00280100');
  if (rows === undefined || columns === undefined || bits === undefined) return;
  const samples = number('00280002') ?? 1;
  const frames = number('00280008') ?? 1;
  const expected = Math.ceil((rows * columns * samples * frames * bits) / 8);
  // The range includes the element header: 8 bytes implicit, 12 explicit (OB/OW).
  const value = pixels.end - pixels.start - (syntax === IMPLICIT_VR_LITTLE_ENDIAN ? 8 : 12);
  if (value < expected) {
    throw new RadiolensError(
      'E_TRUNCATED',
      `${source} has ${value} bytes of Pixel Data where ${frames} frame(s) of ${rows}×${columns}×${samples} at ${bits} bits need ${expected} — ` +
        'the image is incomplete; nothing was written, fetch the complete file again',
      { subject: source },
    );
  }
}

/** Parse, de-identify and encode one Part 10 file. */
export function deidentifyBytes(
  bytes: Uint8Array,
  config: DeidConfig,
  source: string,
): DeidBytesResult {
  const { file: header, bytes: part10 } = readDicomHeader(bytes, source);
  const syntax = stringValue(header.meta['00020010']) ?? '';
  const extent = pixelDataExtent(part10, syntax);
  if (extent.kind === 'truncated') {
    throw new RadiolensError(
      'E_TRUNCATED',
      `${source} ends at byte ${part10.byteLength} but its elements declare ${extent.declaredEnd}: ` +
        'the file was cut short (pixel data missing) — nothing was written; fetch the complete file again',
      { subject: source },
    );
  }
  const pixels = extent.kind === 'found' ? extent.range : undefined;
  if (pixels !== undefined) checkNativePixelLength(header.dict, syntax, pixels, source);
  // Pixel cleaning needs the decoded buffer, and an unlocatable Pixel Data element cannot be
  // copied verbatim: both take the full parse-and-re-encode path.
  const fullPath =
    pixels === undefined ||
    (config.options.has('cleanPixelData') && burnedInTextRisk(header.dict) !== undefined);
  if (fullPath) {
    const result = deidentifyDicom(readTaggedFile(bytes, source), config, source);
    if (result.kind === 'quarantined') return result;
    return { ...result, bytes: writeTaggedFile(result.file) };
  }
  const result = deidentifyDicom(header, config, source);
  if (result.kind === 'quarantined') return result;
  const head = writeTaggedFile(result.file);
  const out = new Uint8Array(head.byteLength + pixels.end - pixels.start);
  out.set(head, 0);
  out.set(part10.subarray(pixels.start, pixels.end), head.byteLength);
  return { ...result, bytes: out };
}
