export { RadiolensError, isRadiolensError, describeError, type ErrorCode } from './errors.js';
export { deriveUid, randomUid, isValidUid } from './uids.js';
export { writeFileAtomic, type WriteFileAtomicOptions } from './files.js';
export { RADIOLENS_VERSION } from './version.js';
