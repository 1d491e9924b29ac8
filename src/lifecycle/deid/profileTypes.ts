/**
 * The vocabulary of PS3.15 Table E.1-1 (Application Level Confidentiality Profile
 * Attributes). Kept apart from the generated table so the generator's output stays pure data.
 */

/** Basic Profile action codes, compound ones included (PS3.15 E.1.1 Table E.1-1a). */
export type BasicProfileAction =
  'D' | 'Z' | 'X' | 'K' | 'C' | 'U' | 'Z/D' | 'X/Z' | 'X/D' | 'X/Z/D' | 'X/Z/U*';

/** An option column's action: K keeps the attribute, C cleans it. */
export type OptionAction = 'K' | 'C';

/** The option columns of Table E.1-1, named after the standard's options. */
export type ProfileOptionColumn =
  | 'retainSafePrivate'
  | 'retainUids'
  | 'retainDeviceIdentity'
  | 'retainInstitutionIdentity'
  | 'retainPatientCharacteristics'
  | 'retainLongitudinalFullDates'
  | 'retainLongitudinalModifiedDates'
  | 'cleanDescriptors'
  | 'cleanStructuredContent'
  | 'cleanGraphics';

/**
 * One row of Table E.1-1. `tag` is 8 upper-case hex digits for an exact attribute, or a
 * pattern with `x` for the repeating groups ("50xxxxxx" curves, "60xx3000" overlay data);
 * the private-attributes row uses the pattern "odd-group".
 */
export interface ProfileRow {
  readonly tag: string;
  readonly name: string;
  /** "Y" when the attribute is part of a standard composite IOD (stdCompIOD column). */
  readonly inStandardIod: boolean;
  readonly basic: BasicProfileAction;
  readonly options: Readonly<Partial<Record<ProfileOptionColumn, OptionAction>>>;
}

/** One row of Table E.3.10-1 (Safe Private Attributes). `element` is the low byte (xxEE). */
export interface SafePrivateRow {
  readonly group: string;
  readonly element: string;
  readonly creator: string;
  readonly vr: string;
  readonly meaning: string;
}
