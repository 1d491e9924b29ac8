export {
  createStowRsHandler,
  matchStowRsPath,
  DEFAULT_MAX_STOW_REQUEST_BYTES,
  type StowEvent,
  type StowRsHandler,
  type StowRsOptions,
} from './stow/index.js';
export { WatchedFolder, type WatchedFolderOptions, type WatchEvent } from './watch/index.js';
export {
  DicomStorageScp,
  failureStatus,
  STATUS_OUT_OF_RESOURCES,
  STATUS_CANNOT_UNDERSTAND,
  type StorageScpOptions,
  type ScpEvent,
} from './dimse/index.js';
