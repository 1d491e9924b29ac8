export { RadiolensError, isRadiolensError, describeError, type ErrorCode } from './errors.js';
export { deriveUid, randomUid, isValidUid } from './uids.js';
export { pathInside, uidPathSegment } from './safePaths.js';
export {
  filesUnder,
  walkDirectory,
  writeAllAt,
  writeFileAtomic,
  type WalkedEntry,
  type WriteFileAtomicOptions,
} from './files.js';
export { RADIOLENS_VERSION } from './version.js';
export { outcomeOf, DicomStatus, type Outcome } from './outcomes.js';
export { sendJson } from './httpJson.js';
export { diskFull } from './diskFull.js';
