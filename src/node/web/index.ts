/**
 * The reading room's web pages (issue #13; ADRs 0190, 0191): HTML shells, the stylesheet and
 * the compiled browser modules, served behind the same route table and access decision as
 * the JSON APIs they read.
 */
export { createWebRoutes, loadAssets, PAGE_CSP, type WebRoutes } from './webRoutes.js';
export { escapeHtml, refusalPage, renderPage, type PageRequest } from './pageShell.js';
