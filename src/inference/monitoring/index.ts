/** What is recorded about each analysed image for post-market monitoring (ADR 0087). */
export {
  acquisitionFacts,
  inputStatistics,
  patientKey,
  pixelStatistics,
  type AcquisitionFacts,
  type InputStatistics,
  type PixelStatistics,
} from './inputStatistics.js';
