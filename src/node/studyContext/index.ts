/**
 * A study's findings in context for the reading room (issue #13 Deliver 3; ADR 0197): model,
 * intended use, caveats, findings with operating points and heatmap series, the site's
 * validated performance and the answers given, by the study's non-PHI key.
 */
export { StudyContextSource, type StudyContextOptions } from './studyContext.js';
export { createStudyContextRoutes } from './studyContextRoutes.js';
export { caveatsOf, type Caveat } from './caveats.js';
