import { test } from 'node:test';
import assert from 'node:assert/strict';
import { resolveAction } from './actions.js';
import { deidentifyBytes, type DeidConfig } from './deidentify.js';
import { readTaggedFile, stringValue, writeTaggedFile } from './dicomIo.js';
import {
  dictionaryVr,
  type TaggedDataset,
  type TaggedElement,
} from '../../foundation/dicom/index.js';
import { DeidKeys } from './keys.js';
import { OPTION_CODES, type DeidOption } from './options.js';
import { rowForTag } from './rules.js';
import {
  buildEveryAttributeFile,
  datasetRowTags,
  plantedElement,
  plantedToken,
  PLANTED_DATE,
  PLANTED_SURNAME,
} from '../../../test/support/deid.js';

const keys = new DeidKeys(Buffer.alloc(32, 42));
const SOURCE_BYTES = writeTaggedFile(buildEveryAttributeFile());
const ORIGINAL = readTaggedFile(SOURCE_BYTES, 'synthetic').dict;
/** Issuer of Patient ID | Patient ID: the key pseudonyms and date shifts derive from. */
const PATIENT_KEY = `${stringValue(ORIGINAL['00100021'])}|PHI00100020`;

function run(options: DeidOption[] = []): { dict: TaggedDataset; text: string } {
  const config: DeidConfig = { options: new Set(options), keys };
  const result = deidentifyBytes(SOURCE_BYTES, config, 'synthetic');
  assert.equal(result.kind, 'deidentified');
  if (result.kind !== 'deidentified') throw new Error('unreachable');
  return {
    dict: readTaggedFile(result.bytes, 'output').dict,
    text: Buffer.from(result.bytes).toString('latin1'),
  };
}

const isEmpty = (e: TaggedElement | undefined): boolean =>
  e !== undefined && (e.Value === undefined || e.Value.length === 0 || e.Value[0] === '');

/** Tags the engine writes itself whatever the table says. */
const OVERRIDDEN = new Set(['00100010', '00100020']);

function checkRow(tag: string, options: DeidOption[], dict: TaggedDataset, shift?: number): void {
  const row = rowForTag(tag)!;
  const { action } = resolveAction(row, new Set(options));
  const before = ORIGINAL[tag]!;
  const after = dict[tag];
  const what = `${tag} ${row.name} (${row.basic} → ${action}, options ${options.join(',') || 'none'})`;
  switch (action) {
    case 'X':
      assert.equal(after, undefined, `${what}: must be removed`);
      break;
    case 'Z':
      assert.ok(isEmpty(after), `${what}: must be present and empty`);
      break;
    case 'K':
      assert.ok(after !== undefined, `${what}: must be kept`);
      if (before.vr !== 'SQ' && !['OB', 'OW', 'UN'].includes(before.vr)) {
        assert.deepEqual(after.Value, before.Value, `${what}: value must be unchanged`);
      }
      break;
    case 'U':
    case 'D':
      assert.ok(after !== undefined, `${what}: must be present`);
      if (before.vr === 'UI') {
        assert.equal(
          stringValue(after),
          keys.remapUid(stringValue(before)!),
          `${what}: UID remapped`,
        );
      } else if (before.vr !== 'SQ') {
        assert.notDeepEqual(after.Value, before.Value, `${what}: must be replaced by a dummy`);
        assert.ok(!isEmpty(after), `${what}: dummy must not be empty`);
      }
      break;
    case 'C': {
      if (before.vr === 'SQ') {
        assert.ok(after !== undefined, `${what}: cleaned sequence kept`);
      } else if (before.vr === 'DA' || before.vr === 'DT') {
        const expected = shift === undefined ? undefined : shiftedDate(shift);
        assert.ok(after !== undefined, `${what}: date kept`);
        if (expected !== undefined) {
          assert.equal(String(after.Value?.[0]).slice(0, 8), expected, `${what}: date shifted`);
        }
      } else if (after !== undefined) {
        const values = JSON.stringify(after.Value);
        assert.ok(!values.includes(PLANTED_SURNAME), `${what}: name cleaned out`);
        assert.ok(!values.includes(PLANTED_DATE), `${what}: date cleaned out`);
      }
      break;
    }
  }
}

function shiftedDate(days: number): string {
  const t = Date.UTC(2020, 0, 2) + days * 86_400_000;
  return new Date(t).toISOString().slice(0, 10).replace(/-/g, '');
}

test('the synthetic dataset holds every dataset-level attribute of Table E.1-1', () => {
  const tags = datasetRowTags();
  assert.ok(tags.length > 580, `only ${tags.length} rows`);
  for (const tag of tags) assert.ok(ORIGINAL[tag] !== undefined, `${tag} lost in the round trip`);
});

test('every row of Table E.1-1 gets its action under the Basic Profile and under each option', () => {
  const optionSets: DeidOption[][] = [
    [],
    ...(Object.keys(OPTION_CODES) as DeidOption[])
      .filter((o) => o !== 'cleanPixelData')
      .map((o) => [o]),
  ];
  for (const options of optionSets) {
    const { dict } = run(options);
    const shift = options.includes('retainLongitudinalModifiedDates')
      ? keys.dateShiftDays(PATIENT_KEY)
      : undefined;
    for (const tag of datasetRowTags()) {
      if (OVERRIDDEN.has(tag)) continue;
      checkRow(tag, options, dict, shift);
    }
  }
});

test('answer key: well-known attributes under the Basic Profile', () => {
  const { dict } = run();
  const removed = ['00101010', '00081030', '0008103E', '00104000', '00321032', '00101040'];
  const emptied = ['00080050', '00080020', '00080030', '00100030', '00100040', '00200010'];
  const dummied = ['00080080', '00081010', '00181000'];
  const uidChanged = ['00080018', '0020000D', '0020000E', '00200052', '00081155'];
  for (const t of removed) assert.equal(dict[t], undefined, `${t} removed`);
  for (const t of emptied) assert.ok(isEmpty(dict[t]), `${t} emptied`);
  for (const t of dummied) assert.equal(stringValue(dict[t]), 'ANONYMIZED', `${t} dummy`);
  for (const t of uidChanged) {
    const before = stringValue(ORIGINAL[t])!;
    assert.equal(stringValue(dict[t]), keys.remapUid(before), `${t} remapped`);
    assert.match(stringValue(dict[t])!, /^2\.25\.\d+$/);
  }
  const pseudonym = keys.patientPseudonym(PATIENT_KEY);
  assert.equal(stringValue(dict['00100020']), pseudonym);
  assert.deepEqual(dict['00100010']?.Value, [{ Alphabetic: pseudonym }]);
  // Not in the table and not on the keep list: removed (safe rule).
  assert.equal(dict['00189999'], undefined);
  // Kept for the image: SOP Class, Modality, Image Pixel module, Pixel Data bytes.
  assert.equal(stringValue(dict['00080016']), '1.2.840.10008.5.1.4.1.1.2');
  assert.equal(stringValue(dict['00080060']), 'CT');
  assert.deepEqual(
    new Uint8Array(dict['7FE00010']!.Value![0] as ArrayBuffer),
    new Uint8Array(ORIGINAL['7FE00010']!.Value![0] as ArrayBuffer),
  );
  // Curves, overlays and private groups go.
  for (const t of [
    '50000010',
    '50003000',
    '60000010',
    '60003000',
    '60004000',
    '00090010',
    '00091001',
    '70531000',
  ]) {
    assert.equal(dict[t], undefined, `${t} removed`);
  }
});

test('answer key: each option keeps or cleans what the standard says', () => {
  assert.equal(
    stringValue(run(['retainUids']).dict['00080018']),
    stringValue(ORIGINAL['00080018']),
  );
  const chars = run(['retainPatientCharacteristics']).dict;
  assert.equal(stringValue(chars['00101010']), '045Y');
  assert.equal(stringValue(chars['00100040']), plantedToken('00100040'));
  assert.match(stringValue(run(['retainDeviceIdentity']).dict['00181000'])!, /^PHI00181000/);
  assert.match(stringValue(run(['retainInstitutionIdentity']).dict['00080080'])!, /^PHI00080080/);
  assert.equal(stringValue(run(['retainLongitudinalFullDates']).dict['00080020']), PLANTED_DATE);
  const modified = run(['retainLongitudinalModifiedDates']).dict;
  const shift = keys.dateShiftDays(PATIENT_KEY);
  assert.ok(shift <= -365 && shift > -3653);
  assert.equal(stringValue(modified['00080020']), shiftedDate(shift));
  assert.equal(stringValue(modified['00080030']), '101112', 'times survive a whole-day shift');
  assert.equal(stringValue(modified['00280303']), 'MODIFIED');
  const desc = run(['cleanDescriptors']).dict;
  assert.equal(
    stringValue(desc['00081030']),
    plantedToken('00081030'),
    'descriptor cleaned, not removed',
  );
  const graphics = run(['cleanGraphics']).dict;
  assert.equal(stringValue(graphics['60004000']), 'PHI60004000', 'overlay comment cleaned');
  assert.equal(graphics['60003000'], undefined, 'overlay bitmap cannot be shown clean: removed');
  const safe = run(['retainSafePrivate']).dict;
  assert.equal(stringValue(safe['70531000']), '1.5', 'Table E.3.10-1 attribute kept');
  assert.equal(stringValue(safe['70530010']), 'Philips PET Private Group', 'its creator kept');
  assert.equal(safe['00091001'], undefined, 'other private attributes still removed');
});

test('planted PHI: nothing identifying survives in the output bytes unless an option keeps it', () => {
  const tokens = new Map<string, string>();
  for (const tag of datasetRowTags()) tokens.set(plantedToken(tag), tag);
  const optionSets: DeidOption[][] = [
    [],
    ['cleanDescriptors', 'cleanStructuredContent', 'cleanGraphics'],
    ['retainSafePrivate', 'retainUids'],
    ['retainLongitudinalModifiedDates'],
  ];
  for (const options of optionSets) {
    const { text } = run(options);
    for (const m of text.matchAll(/PHI([0-9A-F]{8})/g)) {
      const tag = m[1]!;
      const row = rowForTag(tag);
      const action = row === undefined ? 'none' : resolveAction(row, new Set(options)).action;
      assert.ok(
        action === 'K' || action === 'C',
        `planted ${m[0]} survived under [${options.join(',')}] with action ${action}`,
      );
    }
    assert.ok(!text.includes(PLANTED_SURNAME), `surname survived under [${options.join(',')}]`);
    assert.ok(!text.includes(PLANTED_DATE), `date survived under [${options.join(',')}]`);
    assert.ok(!text.includes('PHI PRIVATE CREATOR'), 'private creator survived');
  }
});

test('records: Patient Identity Removed, method text, CID 7050 codes, temporal flag', () => {
  const options: DeidOption[] = ['retainUids', 'cleanDescriptors', 'retainLongitudinalFullDates'];
  const { dict } = run(options);
  assert.equal(stringValue(dict['00120062']), 'YES');
  assert.equal(stringValue(dict['00280303']), 'UNMODIFIED');
  const codes = (dict['00120064']!.Value as TaggedDataset[]).map((i) => stringValue(i['00080100']));
  assert.deepEqual(codes.sort(), ['113100', '113105', '113106', '113110']);
  for (const item of dict['00120064']!.Value as TaggedDataset[]) {
    assert.equal(stringValue(item['00080102']), 'DCM');
  }
  assert.ok((dict['00120063']!.Value as string[]).includes('Retain UIDs Option'));
  assert.equal(stringValue(run().dict['00280303']), 'REMOVED');
});

test('sequences are de-identified at every depth', () => {
  const { dict } = run(['cleanStructuredContent']);
  const content = dict['0040A730']!.Value as TaggedDataset[];
  const level1 = content[0]!;
  assert.equal(
    stringValue(level1['00081155']),
    keys.remapUid(`1.2.826.0.1.3680043.99.${0x0040a730}.1`),
  );
  const level2 = (level1['0040A730']!.Value as TaggedDataset[])[0]!;
  assert.equal(level2['00091001'], undefined, 'private attribute removed at depth 2');
  assert.ok(!JSON.stringify(level2['00100010']?.Value ?? '').includes(PLANTED_SURNAME));
  assert.equal(stringValue(level2['00080100']), 'T-D0050', 'coded concepts kept');
});

test('a planted element of every VR round-trips through the writer', () => {
  for (const vr of ['PN', 'DA', 'TM', 'DT', 'AS', 'UI', 'DS', 'US', 'OB', 'SQ', 'LO', 'SH', 'UT']) {
    const element = plantedElement('00081030', vr);
    assert.equal(element.vr, vr);
  }
  assert.equal(dictionaryVr('00100010'), 'PN');
});

test('Clean Structured Content keeps SR content items and cleans their text', () => {
  const file = buildEveryAttributeFile();
  file.dict['0040A730'] = {
    vr: 'SQ',
    Value: [
      {
        '0040A010': { vr: 'CS', Value: ['CONTAINS'] },
        '0040A040': { vr: 'CS', Value: ['TEXT'] },
        '0040A043': {
          vr: 'SQ',
          Value: [
            {
              '00080100': { vr: 'SH', Value: ['121071'] },
              '00080102': { vr: 'SH', Value: ['DCM'] },
              '00080104': { vr: 'LO', Value: ['Finding'] },
            },
          ],
        },
        '0040A160': { vr: 'UT', Value: [`Nodule seen, ${PLANTED_SURNAME} seen ${PLANTED_DATE}`] },
      },
    ],
  };
  const bytes = writeTaggedFile(file);
  const keysFor = (options: DeidOption[]): TaggedDataset => {
    const r = deidentifyBytes(bytes, { options: new Set(options), keys }, 'sr');
    if (r.kind !== 'deidentified') throw new Error('quarantined');
    // An item left with nothing may be read back as no item at all.
    return (readTaggedFile(r.bytes, 'out').dict['0040A730']!.Value as TaggedDataset[])[0] ?? {};
  };
  const cleaned = keysFor(['cleanStructuredContent']);
  assert.equal(stringValue(cleaned['0040A040']), 'TEXT');
  assert.equal(stringValue(cleaned['0040A160']), 'Nodule seen, seen');
  const basic = keysFor([]);
  assert.equal(basic['0040A160'], undefined, 'without the option free text goes');
  assert.equal(basic['0040A040'], undefined);
});
