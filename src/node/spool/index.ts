/**
 * Bodies received over the network (STOW-RS requests, WADO-RS answers) spooled to a file
 * under the data folder and split into parts from there, one part in memory at a time
 * (issue #16, ADR 0132).
 */
export {
  DelimiterScanner,
  boundaryOf,
  splitSpooledBody,
  readSpooledPart,
  spoolPath,
  openSpoolFile,
  removeSpoolFile,
  spoolWebStream,
  type PartSegment,
} from './spooledMultipart.js';
