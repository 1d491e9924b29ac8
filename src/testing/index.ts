export { repoRoot, sharedDir, conformanceDir } from './paths.js';
