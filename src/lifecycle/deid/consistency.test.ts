import { test } from 'node:test';
import assert from 'node:assert/strict';
import { deidentifyBytes, type DeidConfig } from './deidentify.js';
import { readTaggedFile, stringValue, writeTaggedFile } from './dicomIo.js';
import { type TaggedDataset } from '../../foundation/dicom/index.js';
import { DeidKeys } from './keys.js';
import { buildEveryAttributeFile } from '../../../test/support/deid.js';

const STUDY = '1.2.826.0.1.3680043.99.7';

/** A two-series study: series 2 images reference series 1 images and share its frame of reference. */
function study(): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (const s of [1, 2]) {
    for (const i of [1, 2, 3]) {
      const f = buildEveryAttributeFile({
        study: STUDY,
        series: `${STUDY}.${s}`,
        sop: `${STUDY}.${s}.${i}`,
        patientId: 'MRN-0042',
      });
      f.dict['00200052'] = { vr: 'UI', Value: [`${STUDY}.99`] };
      f.dict['00081140'] = {
        vr: 'SQ',
        Value: [
          {
            '00081150': { vr: 'UI', Value: ['1.2.840.10008.5.1.4.1.1.2'] },
            '00081155': { vr: 'UI', Value: [`${STUDY}.1.${i}`] },
          },
        ],
      };
      out.push(writeTaggedFile(f));
    }
  }
  return out;
}

function deid(files: Uint8Array[], config: DeidConfig): TaggedDataset[] {
  return files.map((bytes, n) => {
    const r = deidentifyBytes(bytes, config, `file${n}`);
    if (r.kind !== 'deidentified') throw new Error(r.reason);
    return readTaggedFile(r.bytes, 'out').dict;
  });
}

const uid = (d: TaggedDataset, tag: string): string => stringValue(d[tag]) ?? '';
const refUid = (d: TaggedDataset): string =>
  stringValue((d['00081140']!.Value as TaggedDataset[])[0]!['00081155']) ?? '';

test('UIDs stay consistent inside a multi-series study, references included', () => {
  const config: DeidConfig = { options: new Set(), keys: new DeidKeys(Buffer.alloc(32, 9)) };
  const out = deid(study(), config);
  const studies = new Set(out.map((d) => uid(d, '0020000D')));
  assert.equal(studies.size, 1);
  assert.notEqual([...studies][0], STUDY);
  assert.equal(new Set(out.map((d) => uid(d, '0020000E'))).size, 2);
  assert.equal(new Set(out.map((d) => uid(d, '00080018'))).size, 6);
  assert.equal(new Set(out.map((d) => uid(d, '00200052'))).size, 1, 'one frame of reference');
  // Series 2 image i references series 1 image i: the reference must point at its new UID.
  for (let i = 0; i < 3; i++) assert.equal(refUid(out[3 + i]!), uid(out[i]!, '00080018'));
  assert.equal(new Set(out.map((d) => uid(d, '00100020'))).size, 1, 'one pseudonymous patient');
});

test('two separate runs (two batches, same installation secret) give identical UIDs', () => {
  const files = study();
  const a = deid(files.slice(0, 2), {
    options: new Set(),
    keys: new DeidKeys(Buffer.alloc(32, 9)),
  });
  const b = deid(files.slice(2), { options: new Set(), keys: new DeidKeys(Buffer.alloc(32, 9)) });
  const again = deid(files, { options: new Set(), keys: new DeidKeys(Buffer.alloc(32, 9)) });
  const all = [...a, ...b];
  for (let i = 0; i < files.length; i++) {
    assert.equal(uid(all[i]!, '00080018'), uid(again[i]!, '00080018'));
    assert.equal(uid(all[i]!, '0020000D'), uid(again[i]!, '0020000D'));
  }
  assert.equal(refUid(b[2]!), uid(a[1]!, '00080018'), 'a reference across batches still resolves');
});

test('a different installation secret gives unlinkable UIDs and pseudonyms', () => {
  const files = study().slice(0, 1);
  const a = deid(files, { options: new Set(), keys: new DeidKeys(Buffer.alloc(32, 1)) })[0]!;
  const b = deid(files, { options: new Set(), keys: new DeidKeys(Buffer.alloc(32, 2)) })[0]!;
  assert.notEqual(uid(a, '00080018'), uid(b, '00080018'));
  assert.notEqual(uid(a, '00100020'), uid(b, '00100020'));
});

test('Modified Dates: one shift per patient, preserved intervals', () => {
  const keys = new DeidKeys(Buffer.alloc(32, 3));
  const make = (patientId: string, date: string): Uint8Array => {
    const f = buildEveryAttributeFile({
      study: `${STUDY}.${date}`,
      series: `${STUDY}.${date}.1`,
      sop: `${STUDY}.${date}.1.1`,
      patientId,
    });
    f.dict['00100021'] = { vr: 'LO', Value: ['HOSP'] };
    f.dict['00080020'] = { vr: 'DA', Value: [date] };
    return writeTaggedFile(f);
  };
  const config: DeidConfig = { options: new Set(['retainLongitudinalModifiedDates']), keys };
  const [first, second, other] = deid(
    [make('P1', '20200101'), make('P1', '20200301'), make('P2', '20200101')],
    config,
  );
  const day = (d: TaggedDataset): number => {
    const v = uid(d, '00080020');
    return Date.UTC(+v.slice(0, 4), +v.slice(4, 6) - 1, +v.slice(6, 8)) / 86_400_000;
  };
  assert.equal(day(second!) - day(first!), 60, 'interval between the studies of one patient kept');
  assert.notEqual(uid(first!, '00080020'), '20200101');
  assert.equal(
    keys.dateShiftDays('HOSP|P1') === keys.dateShiftDays('HOSP|P2'),
    day(first!) === day(other!),
  );
});
