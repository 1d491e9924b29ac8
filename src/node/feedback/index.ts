/**
 * The radiologist's answers to the AI's findings (issue #13 Deliver 4; ADR 0171): stored in
 * the node database, recorded and listed through the node's JSON API, and exported as the
 * CSVs `radiolens validate` and `radiolens stats mrmc` read.
 */
export {
  FeedbackStore,
  ensureFeedbackSchema,
  feedbackRowOf,
  feedbackRecordOf,
  feedbackFilterTerms,
  ANONYMOUS_LOCAL_USER,
  type FeedbackRecord,
  type FeedbackFilter,
  type FeedbackRow,
} from './feedbackStore.js';
export { sqliteFeedbackPort, type FeedbackPort } from './feedbackPort.js';
export { feedbackAnswerSchema, type FeedbackAnswer } from './feedbackSchema.js';
export {
  createFeedbackRoutes,
  MAX_FEEDBACK_BODY_BYTES,
  type FeedbackRoutes,
  type FeedbackRouteOptions,
} from './feedbackRoutes.js';
export {
  feedbackValidateCsv,
  feedbackMrmcCsv,
  latestAnswers,
  readerCall,
  type CsvExport,
} from './feedbackCsv.js';
