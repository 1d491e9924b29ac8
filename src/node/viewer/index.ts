/**
 * The OHIF Viewer served by the node (issue #13 Deliver 3; ADR 0195): the pinned `@ohif/app`
 * build, fetched and checked by `radiolens viewer fetch`, served under `/ohif/` with the
 * node's own DICOMweb as its data source.
 */
export {
  OHIF_APP_PACKAGE,
  OHIF_APP_VERSION,
  OHIF_APP_INTEGRITY,
  STAMP_FILE,
  defaultOhifDir,
  installOhifApp,
  integrityOf,
  isOhifApp,
  type InstallOhifOptions,
  type OhifInstall,
} from './ohifPackage.js';
export { ohifAppConfig, type OhifConfigOptions } from './ohifConfig.js';
export { rebaseIndexHtml, rebaseScript, rebaseStylesheet, inlineScripts } from './publicPath.js';
export {
  createOhifRoutes,
  VIEWER_ROOT,
  OHIF_MEDIA_TYPES,
  type OhifRoutes,
  type OhifRouteOptions,
} from './ohifRoutes.js';
