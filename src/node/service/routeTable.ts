/**
 * Every route the node's HTTP port serves, in one table (ADR 0173): the listener dispatches
 * from it, decides access from it, and `/api/openapi.json` is generated from it — so a route
 * cannot be served without being documented with the roles it requires, and the per-route
 * access test (generated from the document) cannot miss it.
 */
import type { z } from 'zod';
import type { RouteAccess } from '../access/index.js';
import { loginRequestSchema } from '../access/index.js';
import { feedbackAnswerSchema } from '../feedback/index.js';
import { worklistQuerySchema } from '../worklist/index.js';

/** Which part of the node answers a route. */
export type RouteHandler =
  'health' | 'stow' | 'dicomweb-read' | 'login' | 'api' | 'openapi' | 'viewer' | 'web';

export interface RouteSpec {
  readonly method: 'GET' | 'POST';
  /** OpenAPI path template: `{name}` is one segment; `rest` makes the last one greedy. */
  readonly path: string;
  readonly operationId: string;
  readonly summary: string;
  readonly tag:
    | 'health'
    | 'session'
    | 'dicomweb'
    | 'feedback'
    | 'worklist'
    | 'audit'
    | 'api'
    | 'viewer'
    | 'studies'
    | 'models'
    | 'pages';
  /**
   * 'public' only for /health, login (the API and its page) and the pages' static assets,
   * which carry no patient data (issue #13 Deliver 6, ADR 0191).
   */
  readonly access: 'public' | RouteAccess;
  readonly handler: RouteHandler;
  /**
   * 'before': the listener appends an audit record before the handler runs (nothing is
   * served without its record); 'handler': the handler records what happened; 'none'.
   */
  readonly audit: 'before' | 'handler' | 'none';
  /**
   * The last path parameter takes the rest of the path (bulk data paths, the viewer's files);
   * it may be empty when the path ends in '/'.
   */
  readonly rest?: boolean;
  readonly requestBody?: { readonly contentType: string; readonly schema?: z.ZodType };
  /** The query parameters the route takes (documented; the handler refuses others with 400). */
  readonly query?: z.ZodObject;
  /** Content type of the successful answer. */
  readonly produces: string;
  readonly success: 200 | 201 | 302;
}

const RADIOLOGIST_OR_MACHINE: RouteAccess = { roles: ['radiologist'], machines: 'token' };
const ANY_USER: RouteAccess = {
  roles: ['radiologist', 'administrator', 'data-scientist', 'auditor'],
  machines: 'none',
};

const html = 'text/html';

/** A reading-room page (ADR 0190): an HTML shell, not audited (the APIs it reads are). */
function page(
  path: string,
  operationId: string,
  summary: string,
  access: 'public' | RouteAccess,
): RouteSpec {
  return {
    method: 'GET',
    path,
    operationId,
    summary,
    tag: 'pages',
    access,
    handler: 'web',
    audit: 'none',
    produces: html,
    success: 200,
  };
}

const dicomJson = 'application/dicom+json';
const multipart = 'multipart/related';

/** A DICOMweb read: radiologists and machine clients with the token; audited before serving. */
function read(
  path: string,
  operationId: string,
  summary: string,
  produces: string,
  extra: Partial<RouteSpec> = {},
): RouteSpec {
  return {
    method: 'GET',
    path: `/dicomweb${path}`,
    operationId,
    summary,
    tag: 'dicomweb',
    access: RADIOLOGIST_OR_MACHINE,
    handler: 'dicomweb-read',
    audit: 'before',
    produces,
    success: 200,
    ...extra,
  };
}

const STUDY = '/studies/{study}';
const SERIES = `${STUDY}/series/{series}`;
const INSTANCE = `${SERIES}/instances/{instance}`;

export const ROUTES: readonly RouteSpec[] = [
  {
    method: 'GET',
    path: '/health',
    operationId: 'health',
    summary: 'Whether the node can accept and analyse studies (no patient data)',
    tag: 'health',
    access: 'public',
    handler: 'health',
    audit: 'none',
    produces: 'application/json',
    success: 200,
  },
  {
    method: 'POST',
    path: '/api/login',
    operationId: 'login',
    summary: 'Log in with user name and password; sets the session cookie, returns the CSRF token',
    tag: 'session',
    access: 'public',
    handler: 'login',
    audit: 'handler',
    requestBody: { contentType: 'application/json', schema: loginRequestSchema },
    produces: 'application/json',
    success: 200,
  },
  {
    method: 'POST',
    path: '/api/logout',
    operationId: 'logout',
    summary: 'End this session',
    tag: 'session',
    access: ANY_USER,
    handler: 'login',
    audit: 'handler',
    produces: 'application/json',
    success: 200,
  },
  {
    method: 'GET',
    path: '/api/session',
    operationId: 'getSession',
    summary: 'Who is logged in, with which role, until when, and the CSRF token',
    tag: 'session',
    access: ANY_USER,
    handler: 'login',
    audit: 'none',
    produces: 'application/json',
    success: 200,
  },
  {
    method: 'GET',
    path: '/api/openapi.json',
    operationId: 'getOpenApi',
    summary: 'This document: every route with the roles it requires',
    tag: 'api',
    access: { roles: ANY_USER.roles, machines: 'token' },
    handler: 'openapi',
    audit: 'none',
    produces: 'application/json',
    success: 200,
  },
  {
    method: 'GET',
    path: '/api/feedback',
    operationId: 'listFeedback',
    summary: "The radiologists' answers, filtered by studyKey, model, version or label",
    tag: 'feedback',
    access: { roles: ['radiologist', 'data-scientist'], machines: 'none' },
    handler: 'api',
    audit: 'before',
    produces: 'application/json',
    success: 200,
  },
  {
    method: 'POST',
    path: '/api/feedback',
    operationId: 'recordFeedback',
    summary: "Record a radiologist's answer to one finding",
    tag: 'feedback',
    access: { roles: ['radiologist'], machines: 'none' },
    handler: 'api',
    audit: 'handler',
    requestBody: { contentType: 'application/json', schema: feedbackAnswerSchema },
    produces: 'application/json',
    success: 201,
  },
  {
    method: 'GET',
    path: '/api/worklist',
    operationId: 'readWorklist',
    summary:
      'Analysed studies in clinical priority order, each with the reason for its place and the urgent marks of the alert budget',
    tag: 'worklist',
    access: { roles: ['radiologist'], machines: 'none' },
    handler: 'api',
    // A view of patient data (study UIDs and findings), recorded like a DICOMweb read.
    audit: 'before',
    query: worklistQuerySchema,
    produces: 'application/json',
    success: 200,
  },
  {
    method: 'GET',
    path: '/api/worklist/events',
    operationId: 'watchWorklist',
    summary:
      'Server-Sent Events: a change notice when a result arrives or an answer is recorded (no patient data; re-fetch the worklist)',
    tag: 'worklist',
    access: { roles: ['radiologist'], machines: 'none' },
    handler: 'api',
    audit: 'none',
    produces: 'text/event-stream',
    success: 200,
  },
  {
    method: 'GET',
    path: '/api/audit',
    operationId: 'readAudit',
    summary: 'The latest audit records and whether the chain is intact',
    tag: 'audit',
    access: { roles: ['auditor'], machines: 'none' },
    handler: 'api',
    audit: 'before',
    produces: 'application/json',
    success: 200,
  },
  page('/login', 'loginPage', 'The login page', 'public'),
  {
    ...page(
      '/',
      'homePage',
      'Sends each role to its start page (302; the worklist for radiologists)',
      ANY_USER,
    ),
    produces: 'text/plain',
    success: 302,
  },
  page(
    '/worklist',
    'worklistPage',
    'The worklist page: studies in priority order, filters, live updates, keyboard navigation',
    { roles: ['radiologist'], machines: 'none' },
  ),
  page(
    '/studies/{studyKey}',
    'studyPage',
    "A study by its non-PHI key: the OHIF viewer beside the findings' context and the answer forms",
    { roles: ['radiologist'], machines: 'none' },
  ),
  page(
    '/models',
    'modelsPage',
    'The installed model versions and the routes that use them',
    ANY_USER,
  ),
  page(
    '/models/{id}/{version}',
    'modelPage',
    'A model version: its card, lineage, validation reports and routes',
    ANY_USER,
  ),
  page('/audit', 'auditPage', 'The audit log and whether its chain is intact', {
    roles: ['auditor'],
    machines: 'none',
  }),
  {
    method: 'GET',
    path: '/assets/{asset}',
    operationId: 'readAsset',
    summary:
      "The pages' stylesheet and browser modules (the same bytes for everyone, no patient data)",
    tag: 'pages',
    access: 'public',
    handler: 'web',
    audit: 'none',
    rest: true,
    produces: 'text/javascript',
    success: 200,
  },
  {
    method: 'GET',
    path: '/api/studies/{studyKey}/context',
    operationId: 'readStudyContext',
    summary:
      "A study's findings in context: per latest clinical analysis the model, intended use, caveats, findings with operating points, OOD flags and heatmap series, the site's validated performance, and the answers given (study by its non-PHI key)",
    tag: 'studies',
    access: { roles: ['radiologist'], machines: 'none' },
    handler: 'api',
    // A view of patient data: recorded before it is served, the study by its key.
    audit: 'before',
    produces: 'application/json',
    success: 200,
  },
  {
    method: 'GET',
    path: '/api/models',
    operationId: 'listModels',
    summary: 'The installed model versions: which is active, and which routes of this node use it',
    tag: 'models',
    access: ANY_USER,
    handler: 'api',
    audit: 'none',
    produces: 'application/json',
    success: 200,
  },
  {
    method: 'GET',
    path: '/api/models/{id}/{version}',
    operationId: 'readModel',
    summary:
      'One model version: intended use, labels and operating points, its model card, lineage (datasets, training run, parent), validation reports, and the routes that use it',
    tag: 'models',
    access: ANY_USER,
    handler: 'api',
    audit: 'none',
    produces: 'application/json',
    success: 200,
  },
  {
    method: 'GET',
    path: '/ohif',
    operationId: 'openViewerRoot',
    summary: 'The OHIF Viewer: redirects to /ohif/',
    tag: 'viewer',
    access: { roles: ['radiologist'], machines: 'none' },
    handler: 'viewer',
    audit: 'none',
    produces: 'text/html',
    success: 200,
  },
  {
    method: 'GET',
    path: '/ohif/{path}',
    operationId: 'openViewer',
    summary:
      "The OHIF Viewer's files and its own routes (open a study with /ohif/viewer?StudyInstanceUIDs=<uid>), configured for this node's /dicomweb; 404 naming `radiolens viewer fetch` when it is not installed",
    tag: 'viewer',
    access: { roles: ['radiologist'], machines: 'none' },
    handler: 'viewer',
    // The app's files carry no patient data; the study's reads through /dicomweb are audited.
    audit: 'none',
    rest: true,
    produces: 'text/html',
    success: 200,
  },
  {
    method: 'POST',
    path: '/dicomweb/studies',
    operationId: 'storeInstances',
    summary: 'STOW-RS: store instances (acknowledged once durable)',
    tag: 'dicomweb',
    access: { roles: ['administrator'], machines: 'token-or-address' },
    handler: 'stow',
    audit: 'none',
    requestBody: { contentType: 'multipart/related; type="application/dicom"' },
    produces: dicomJson,
    success: 200,
  },
  {
    method: 'POST',
    path: `/dicomweb${STUDY}`,
    operationId: 'storeStudyInstances',
    summary: 'STOW-RS: store instances of one study',
    tag: 'dicomweb',
    access: { roles: ['administrator'], machines: 'token-or-address' },
    handler: 'stow',
    audit: 'none',
    requestBody: { contentType: 'multipart/related; type="application/dicom"' },
    produces: dicomJson,
    success: 200,
  },
  read('/studies', 'searchForStudies', 'QIDO-RS: search for studies', dicomJson),
  read('/series', 'searchForAllSeries', 'QIDO-RS: search for series', dicomJson),
  read('/instances', 'searchForAllInstances', 'QIDO-RS: search for instances', dicomJson),
  read(STUDY, 'retrieveStudy', 'WADO-RS: the instances of a study', multipart),
  read(`${STUDY}/metadata`, 'retrieveStudyMetadata', 'WADO-RS: metadata of a study', dicomJson),
  read(`${STUDY}/series`, 'searchForStudySeries', "QIDO-RS: a study's series", dicomJson),
  read(`${STUDY}/instances`, 'searchForStudyInstances', "QIDO-RS: a study's instances", dicomJson),
  read(SERIES, 'retrieveSeries', 'WADO-RS: the instances of a series', multipart),
  read(`${SERIES}/metadata`, 'retrieveSeriesMetadata', 'WADO-RS: metadata of a series', dicomJson),
  read(
    `${SERIES}/instances`,
    'searchForSeriesInstances',
    "QIDO-RS: a series' instances",
    dicomJson,
  ),
  read(INSTANCE, 'retrieveInstance', 'WADO-RS: one instance', multipart),
  read(
    `${INSTANCE}/metadata`,
    'retrieveInstanceMetadata',
    'WADO-RS: metadata of an instance',
    dicomJson,
  ),
  read(
    `${INSTANCE}/frames/{frames}`,
    'retrieveFrames',
    'WADO-RS: frames (comma-separated numbers)',
    multipart,
  ),
  read(
    `${INSTANCE}/bulk/{bulkPath}`,
    'retrieveBulkData',
    'WADO-RS: bulk data of an attribute (tag[/item/tag…])',
    multipart,
    { rest: true },
  ),
];

export type RouteMatch =
  | { readonly kind: 'route'; readonly route: RouteSpec; readonly params: Record<string, string> }
  | { readonly kind: 'method-not-allowed'; readonly allow: string }
  | { readonly kind: 'not-found' };

function matchPath(
  route: RouteSpec,
  segments: readonly string[],
): Record<string, string> | undefined {
  const template = route.path.split('/').slice(1);
  // An empty segment is only the end of a greedy path that ends in '/' (/ohif/), or the
  // root itself (the home page).
  const empty = segments.findIndex((s) => s === '');
  if (empty >= 0 && route.path !== '/' && !(route.rest === true && empty === segments.length - 1)) {
    return undefined;
  }
  if (
    route.rest === true ? segments.length < template.length : segments.length !== template.length
  ) {
    return undefined;
  }
  const params: Record<string, string> = {};
  for (const [i, part] of template.entries()) {
    const name = /^\{(\w+)\}$/.exec(part)?.[1];
    const last = i === template.length - 1;
    if (name === undefined) {
      if (segments[i] !== part) return undefined;
    } else if (last && route.rest === true) {
      params[name] = segments.slice(i).join('/');
    } else {
      params[name] = segments[i]!;
    }
  }
  return params;
}

/** The route for a request; HEAD is answered by a GET route. */
export function matchRoute(routes: readonly RouteSpec[], method: string, path: string): RouteMatch {
  const segments = path.split('/').slice(1);
  // Only the last segment may be empty: `/` (the home page) and `/ohif/`; `//x`, `/a//b` are none.
  if (segments.slice(0, -1).some((s) => s === '')) return { kind: 'not-found' };
  const wanted = method === 'HEAD' ? 'GET' : method;
  const allowed: string[] = [];
  for (const route of routes) {
    const params = matchPath(route, segments);
    if (params === undefined) continue;
    if (route.method === wanted) return { kind: 'route', route, params };
    allowed.push(route.method);
  }
  return allowed.length > 0
    ? { kind: 'method-not-allowed', allow: [...new Set(allowed)].join(', ') }
    : { kind: 'not-found' };
}
