/**
 * De-identification per PS3.15 Annex E: the Basic Application Level Confidentiality Profile
 * and all its options, driven by the standard's own Table E.1-1 (rules.generated.ts).
 */
export { deidentifyDicom, deidentifyBytes } from './deidentify.js';
export type {
  ActionCounts,
  DeidBytesResult,
  DeidConfig,
  DeidResult,
  ReidentificationFacts,
} from './deidentify.js';
export {
  deidentifyFiles,
  folderSink,
  listInputFiles,
  type DeidBatchOptions,
  type DeidBatchReport,
  type DeidentifiedInstance,
  type InstanceSink,
} from './batch.js';
export { DeidKeys, loadOrCreateInstallationSecret } from './keys.js';
export {
  BASIC_PROFILE_CODE,
  OPTION_CODES,
  OPTION_FLAGS,
  parseDeidOptions,
  type CodedConcept,
  type DeidOption,
} from './options.js';
export { resolveAction, resolveBasicAction, type ResolvedAction } from './actions.js';
export { rowForTag, safePrivateRow, PRIVATE_ATTRIBUTES_ROW } from './rules.js';
export { EMPTY_LIST, KEEP_LIST, STRUCTURED_CONTENT } from './keepList.js';
export { prepareDeidentification, radiolensHome, type DeidSettings } from './setup.js';
export {
  burnedInTextRisk,
  parsePixelCleaningRules,
  type PixelCleaningRule,
  type PixelRegion,
} from './pixels.js';
export {
  ReidentificationMap,
  assertMapOutside,
  type AuditEntry,
  type MapEntry,
} from './reidMap.js';
export { readTaggedFile, writeTaggedFile } from './dicomIo.js';
export {
  TABLE_E1_1,
  TABLE_E1_1_EDITION,
  TABLE_E3_10_1,
  TABLE_E3_10_1_EDITION,
} from './rules.generated.js';
export type { ProfileRow, SafePrivateRow, BasicProfileAction } from './profileTypes.js';
