/**
 * The models page's data (issue #13 Deliver 5; ADR 0196): installed versions from the model
 * registry with their card, lineage, validation reports and the node's routes that use them;
 * the site's validation reports registered into the node's data folder.
 */
export {
  ModelCatalog,
  type ModelCatalogOptions,
  type ModelSummary,
  type ModelDetail,
  type DatasetRef,
} from './modelCatalog.js';
export { createModelCatalogRoutes } from './modelCatalogRoutes.js';
export {
  VALIDATION_REPORT_SCHEMA,
  SITE_VALIDATION_DIR,
  isValidationReport,
  summariseReport,
  validationReportsIn,
  siteValidationDir,
  registerSiteValidation,
  type Estimate,
  type ValidationSummary,
} from './validationReports.js';
