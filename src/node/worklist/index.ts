/**
 * The reading room's worklist (issue #13 Deliver 2; ADR 0178): analysed studies in clinical
 * priority order with the reason for each place, an alert budget on urgent marks, and change
 * notices for live updates; on a shared database, the node's copy of its studies' failed
 * cluster jobs (ADR 0189).
 */
export {
  orderWorklist,
  isActionable,
  type AlertBudget,
  type DecisiveFinding,
  type WorklistEntry,
  type WorklistRow,
  type RowCaveat,
  type WorklistReasonCode,
  type WorklistStatus,
} from './worklistOrder.js';
export { WorklistSource, decide, type WorklistSourceOptions } from './worklistSource.js';
export {
  ClusterFailures,
  CLUSTER_FAILURES_TABLE,
  ensureClusterFailuresSchema,
  type ClusterFailure,
} from './clusterFailures.js';
export {
  parseWorklistQuery,
  filterRows,
  worklistQuerySchema,
  WORKLIST_DEFAULT_LIMIT,
  WORKLIST_MAX_LIMIT,
  type WorklistQuery,
} from './worklistQuery.js';
export {
  WorklistChanges,
  type WorklistChange,
  type WorklistChangeKind,
} from './worklistChanges.js';
export {
  createWorklistRoutes,
  WORKLIST_KEEPALIVE_MS,
  type WorklistRouteOptions,
} from './worklistRoutes.js';
