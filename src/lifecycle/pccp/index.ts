/**
 * The change-control gate (ADR 0035): which modifications a candidate version makes, the
 * acceptance protocol of the active version's plan, and the report a promotion or refusal keeps.
 */
export {
  classifyModifications,
  type Modification,
  type ModificationKind,
} from './modifications.js';
export {
  evaluateAcceptance,
  type Criterion,
  type CriterionStatus,
  type GateCase,
  type LabelEvidence,
} from './protocol.js';
export {
  runPromotionGate,
  PROMOTION_REPORT_SCHEMA,
  type GateRequest,
  type ModelIdentity,
  type PromotionReport,
} from './gate.js';
export { renderPromotionHtml } from './reportHtml.js';
