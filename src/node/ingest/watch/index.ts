/**
 * Folder import (ADR 0109): a polled folder whose DICOM files are stored, then removed.
 */
export {
  WatchedFolder,
  REJECTED_FOLDER,
  DONE_FOLDER,
  type WatchedFolderOptions,
  type WatchEvent,
} from './watchedFolder.js';
