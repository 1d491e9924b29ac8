/**
 * The options of the Basic Application Level Confidentiality Profile (PS3.15 E.3) and their
 * CID 7050 codes, which go into De-identification Method Code Sequence (0012,0064).
 */
import { RadiolensError } from '../../foundation/core/index.js';
import type { ProfileOptionColumn } from './profileTypes.js';

/** Options that have a column in Table E.1-1, plus Clean Pixel Data (text-only in E.3.1). */
export type DeidOption = ProfileOptionColumn | 'cleanPixelData';

export interface CodedConcept {
  readonly codeValue: string;
  readonly codingSchemeDesignator: 'DCM';
  readonly codeMeaning: string;
}

const code = (codeValue: string, codeMeaning: string): CodedConcept => ({
  codeValue,
  codingSchemeDesignator: 'DCM',
  codeMeaning,
});

/** CID 7050 De-identification Method. */
export const BASIC_PROFILE_CODE = code('113100', 'Basic Application Confidentiality Profile');
export const OPTION_CODES: Readonly<Record<DeidOption, CodedConcept>> = {
  cleanPixelData: code('113101', 'Clean Pixel Data Option'),
  cleanGraphics: code('113103', 'Clean Graphics Option'),
  cleanStructuredContent: code('113104', 'Clean Structured Content Option'),
  cleanDescriptors: code('113105', 'Clean Descriptors Option'),
  retainLongitudinalFullDates: code(
    '113106',
    'Retain Longitudinal Temporal Information Full Dates Option',
  ),
  retainLongitudinalModifiedDates: code(
    '113107',
    'Retain Longitudinal Temporal Information Modified Dates Option',
  ),
  retainPatientCharacteristics: code('113108', 'Retain Patient Characteristics Option'),
  retainDeviceIdentity: code('113109', 'Retain Device Identity Option'),
  retainUids: code('113110', 'Retain UIDs Option'),
  retainSafePrivate: code('113111', 'Retain Safe Private Option'),
  retainInstitutionIdentity: code('113112', 'Retain Institution Identity Option'),
};

/** The CLI spelling of each option (`--option retain-uids`). */
export const OPTION_FLAGS: Readonly<Record<string, DeidOption>> = {
  'retain-safe-private': 'retainSafePrivate',
  'retain-uids': 'retainUids',
  'retain-device-identity': 'retainDeviceIdentity',
  'retain-institution-identity': 'retainInstitutionIdentity',
  'retain-patient-characteristics': 'retainPatientCharacteristics',
  'retain-full-dates': 'retainLongitudinalFullDates',
  'retain-modified-dates': 'retainLongitudinalModifiedDates',
  'clean-descriptors': 'cleanDescriptors',
  'clean-structured-content': 'cleanStructuredContent',
  'clean-graphics': 'cleanGraphics',
  'clean-pixel-data': 'cleanPixelData',
};

/** Parse option flags, rejecting unknown names and the two exclusive date options together. */
export function parseDeidOptions(flags: readonly string[]): ReadonlySet<DeidOption> {
  const out = new Set<DeidOption>();
  for (const flag of flags) {
    const option = OPTION_FLAGS[flag] ?? (flag in OPTION_CODES ? (flag as DeidOption) : undefined);
    if (option === undefined) {
      throw new RadiolensError(
        'E_BAD_INPUT',
        `unknown de-identification option "${flag}" — use one of ${Object.keys(OPTION_FLAGS).join(', ')}`,
      );
    }
    out.add(option);
  }
  if (out.has('retainLongitudinalFullDates') && out.has('retainLongitudinalModifiedDates')) {
    throw new RadiolensError(
      'E_BAD_INPUT',
      'retain-full-dates and retain-modified-dates exclude each other (PS3.15 E.3.6) — choose one',
    );
  }
  return out;
}
