/**
 * Test support: a synthetic dataset that contains every attribute of Table E.1-1, each
 * planted with a recognisable identifying value, plus nested sequences, private blocks,
 * curves and overlays. Kept in the product folder (not exported) so tests and the benchmark
 * share it; it never touches real data.
 */
import {
  dictionaryVr,
  type TaggedDataset,
  type TaggedElement,
  type TaggedFile,
} from '../../src/foundation/dicom/index.js';
import { TABLE_E1_1 } from '../../src/lifecycle/deid/rules.generated.js';

/** The surname planted inside free text: cleaning must remove it wherever it appears. */
export const PLANTED_SURNAME = 'SMITHSONIAN';
/** A date planted everywhere dates go; it must never survive unless a date option keeps it. */
export const PLANTED_DATE = '20200102';

/** The planted token for a tag: unique, so the output bytes can be searched for each. */
export function plantedToken(tag: string): string {
  return `PHI${tag}`;
}

/** The value planted for a tag of a given VR. */
export function plantedElement(tag: string, vr: string, depth = 0): TaggedElement {
  const token = plantedToken(tag);
  switch (vr) {
    case 'PN':
      return { vr, Value: [{ Alphabetic: `${token}^${PLANTED_SURNAME}` }] };
    case 'DA':
      return { vr, Value: [PLANTED_DATE] };
    case 'TM':
      return { vr, Value: ['101112'] };
    case 'DT':
      return { vr, Value: [`${PLANTED_DATE}101112`] };
    case 'AS':
      return { vr, Value: ['045Y'] };
    case 'UI':
      return { vr, Value: [`1.2.826.0.1.3680043.99.${parseInt(tag, 16)}`] };
    case 'IS':
    case 'DS':
      return { vr, Value: ['7'] };
    case 'US':
    case 'SS':
    case 'UL':
    case 'SL':
    case 'FL':
    case 'FD':
    case 'UV':
    case 'SV':
      return { vr, Value: [7] };
    case 'AT':
      return { vr, Value: ['00100010'] };
    case 'OB':
    case 'OW':
    case 'OF':
    case 'OD':
    case 'OL':
    case 'OV':
    case 'UN':
      return { vr, Value: [new TextEncoder().encode(`${token}  `.slice(0, 12)).buffer] };
    case 'SQ':
      return { vr, Value: depth < 2 ? [nestedItem(tag, depth + 1)] : [] };
    case 'SH':
    case 'CS':
    case 'AE':
      return { vr, Value: [token] };
    case 'UR':
      return { vr, Value: [`http://example.org/${token}`] };
    default: // LO, LT, ST, UT, UC: room for a name and a date inside free text
      return { vr, Value: [`${token} ${PLANTED_SURNAME} ${PLANTED_DATE}`] };
  }
}

/** A sequence item that itself carries identifying attributes and a deeper sequence. */
function nestedItem(tag: string, depth: number): TaggedDataset {
  const item: TaggedDataset = {
    '00081150': { vr: 'UI', Value: ['1.2.840.10008.5.1.4.1.1.2'] },
    '00081155': { vr: 'UI', Value: [`1.2.826.0.1.3680043.99.${parseInt(tag, 16)}.${depth}`] },
    '00100010': {
      vr: 'PN',
      Value: [{ Alphabetic: `${plantedToken(tag)}N${depth}^${PLANTED_SURNAME}` }],
    },
    '00080100': { vr: 'SH', Value: ['T-D0050'] },
    '00080102': { vr: 'SH', Value: ['SRT'] },
    '00080104': { vr: 'LO', Value: ['Tissue'] },
    '00081040': { vr: 'LO', Value: [`${plantedToken(tag)}D${depth} ${PLANTED_SURNAME}`] },
    '00091010': { vr: 'LO', Value: ['PHI PRIVATE CREATOR'] },
    '00091001': { vr: 'LO', Value: [`${plantedToken(tag)}P${depth}`] },
  };
  if (depth < 2) item['0040A730'] = { vr: 'SQ', Value: [nestedItem(`${tag}`, depth + 1)] };
  return item;
}

/** Exact tags of Table E.1-1 that a dataset (not the file meta or command set) can hold. */
export function datasetRowTags(): string[] {
  return TABLE_E1_1.filter(
    (row) =>
      /^[0-9A-F]{8}$/.test(row.tag) && !row.tag.startsWith('0000') && !row.tag.startsWith('0002'),
  ).map((row) => row.tag);
}

/**
 * A CT-like instance carrying every Table E.1-1 attribute with a planted value, plus a
 * curve, an overlay plane, a private block (identifying) and a Table E.3.10-1 safe private
 * attribute. `patient` and `study` let a test build several instances of one study.
 */
export function buildEveryAttributeFile(
  ids: { study: string; series: string; sop: string; patientId?: string } = {
    study: '1.2.826.0.1.3680043.99.1',
    series: '1.2.826.0.1.3680043.99.1.1',
    sop: '1.2.826.0.1.3680043.99.1.1.1',
  },
): TaggedFile {
  const dict: TaggedDataset = {};
  for (const tag of datasetRowTags()) {
    dict[tag] = plantedElement(tag, dictionaryVr(tag) ?? 'LO');
  }
  Object.assign(dict, {
    '00080016': { vr: 'UI', Value: ['1.2.840.10008.5.1.4.1.1.2'] },
    '00080018': { vr: 'UI', Value: [ids.sop] },
    '0020000D': { vr: 'UI', Value: [ids.study] },
    '0020000E': { vr: 'UI', Value: [ids.series] },
    '00100010': { vr: 'PN', Value: [{ Alphabetic: `${PLANTED_SURNAME}^JOHN` }] },
    '00100020': { vr: 'LO', Value: [ids.patientId ?? 'PHI00100020'] },
    '00080060': { vr: 'CS', Value: ['CT'] },
    '00280301': { vr: 'CS', Value: ['NO'] },
    '00280002': { vr: 'US', Value: [1] },
    '00280004': { vr: 'CS', Value: ['MONOCHROME2'] },
    '00280010': { vr: 'US', Value: [4] },
    '00280011': { vr: 'US', Value: [4] },
    '00280100': { vr: 'US', Value: [16] },
    '00280101': { vr: 'US', Value: [12] },
    '00280102': { vr: 'US', Value: [11] },
    '00280103': { vr: 'US', Value: [0] },
    '7FE00010': { vr: 'OW', Value: [new Uint16Array(16).map((_, i) => i * 100).buffer] },
    // Repeating groups: a curve and an overlay plane.
    '50000010': { vr: 'US', Value: [2] },
    '50003000': { vr: 'OW', Value: [new TextEncoder().encode('PHI50003000').buffer] },
    '60000010': { vr: 'US', Value: [4] },
    '60000011': { vr: 'US', Value: [4] },
    '60003000': { vr: 'OW', Value: [new Uint8Array(2).fill(0xff).buffer] },
    '60004000': { vr: 'LT', Value: [`PHI60004000 ${PLANTED_SURNAME}`] },
    // An identifying private block and a safe private attribute (Table E.3.10-1).
    '00090010': { vr: 'LO', Value: ['PHI PRIVATE CREATOR'] },
    '00091001': { vr: 'LO', Value: [`PHI00091001 ${PLANTED_SURNAME}`] },
    '70530010': { vr: 'LO', Value: ['Philips PET Private Group'] },
    '70531000': { vr: 'DS', Value: ['1.5'] },
    // An attribute the table does not list and the keep list does not keep.
    '00189999': { vr: 'LO', Value: ['PHI00189999'] },
  } satisfies TaggedDataset);
  // The tag itself is a UI row; rows that must be UIDs need UID-shaped values to be written.
  const meta: TaggedDataset = {
    '00020001': { vr: 'OB', Value: [new Uint8Array([0, 1]).buffer] },
    '00020002': { vr: 'UI', Value: ['1.2.840.10008.5.1.4.1.1.2'] },
    '00020003': { vr: 'UI', Value: [ids.sop] },
    '00020010': { vr: 'UI', Value: ['1.2.840.10008.1.2.1'] },
  };
  return { meta, dict };
}
