import assert from 'node:assert/strict';
import { test } from 'node:test';
import { openApiDocument } from './openapi.js';
import { ROUTES, matchRoute } from './routeTable.js';

interface Operation {
  operationId: string;
  security: Record<string, unknown>[];
  parameters?: { name: string; in: string }[];
  requestBody?: { content: Record<string, { schema: { required?: string[] } }> };
  responses: Record<string, unknown>;
  'x-radiolens-public': boolean;
  'x-radiolens-roles': string[];
}

const doc = openApiDocument(ROUTES, { version: '1.2.3', tls: false }) as {
  openapi: string;
  info: { version: string };
  components: { securitySchemes: Record<string, { name?: string }> };
  paths: Record<string, Record<string, Operation>>;
};
const operations = Object.entries(doc.paths).flatMap(([path, methods]) =>
  Object.entries(methods).map(([method, op]) => ({ path, method, op })),
);

test('the document has one operation per route, unique ids, and only health, login and the static assets open', () => {
  assert.equal(doc.openapi, '3.1.0');
  assert.equal(doc.info.version, '1.2.3');
  assert.equal(operations.length, ROUTES.length);
  const ids = operations.map((o) => o.op.operationId);
  assert.equal(new Set(ids).size, ids.length);
  assert.deepEqual(
    operations
      .filter((o) => o.op['x-radiolens-public'])
      .map((o) => o.op.operationId)
      .sort(),
    // The login page and its stylesheet and scripts come before any session (ADR 0191).
    ['health', 'login', 'loginPage', 'readAsset'],
  );
  assert.equal(doc.components.securitySchemes['session']?.name, 'radiolens_session');
  const overTls = openApiDocument(ROUTES, { version: '1', tls: true }) as typeof doc;
  assert.equal(overTls.components.securitySchemes['session']?.name, '__Host-radiolens_session');
});

test('every protected operation names its security, 401 and 403; every path parameter is declared', () => {
  for (const { path, method, op } of operations) {
    const what = `${method} ${path}`;
    if (!op['x-radiolens-public']) {
      assert.ok(op.security.length > 0, `${what} security`);
      assert.ok(op.responses['401'] && op.responses['403'], `${what} 401/403`);
    }
    for (const name of [...path.matchAll(/\{(\w+)\}/g)].map((m) => m[1])) {
      assert.ok(
        op.parameters?.some((p) => p.in === 'path' && p.name === name),
        `${what} declares {${name}}`,
      );
    }
    // The document's paths are the ones the listener matches.
    const concrete = path.replace(/\{\w+\}/g, '1.2.3');
    const match = matchRoute(ROUTES, method.toUpperCase(), concrete);
    assert.ok(match.kind === 'route' && match.route.operationId === op.operationId, what);
  }
});

test('JSON bodies are described by the schemas the handlers parse with', () => {
  const login = doc.paths['/api/login']?.['post'];
  assert.deepEqual(login?.requestBody?.content['application/json']?.schema.required?.sort(), [
    'password',
    'user',
  ]);
  const feedback = doc.paths['/api/feedback']?.['post'];
  const required = feedback?.requestBody?.content['application/json']?.schema.required ?? [];
  for (const field of ['studyKey', 'finding', 'model', 'answer', 'timeToAnswerMs']) {
    assert.ok(required.includes(field), field);
  }
});

test('the route table matches HEAD as GET, a greedy bulk path, and tells 404 from 405', () => {
  const bulk = matchRoute(
    ROUTES,
    'GET',
    '/dicomweb/studies/1/series/2/instances/3/bulk/00091001/0/7FE00010',
  );
  assert.ok(bulk.kind === 'route');
  assert.equal(bulk.params['bulkPath'], '00091001/0/7FE00010');
  assert.equal(matchRoute(ROUTES, 'HEAD', '/health').kind, 'route');
  assert.deepEqual(matchRoute(ROUTES, 'DELETE', '/api/feedback'), {
    kind: 'method-not-allowed',
    allow: 'GET, POST',
  });
  assert.equal(matchRoute(ROUTES, 'GET', '/api//feedback').kind, 'not-found');
  assert.equal(matchRoute(ROUTES, 'GET', '/api/users').kind, 'not-found');
});

test('the worklist documents its query parameters, each optional; the stream is text/event-stream', () => {
  const worklist = operations.find((o) => o.op.operationId === 'readWorklist')!;
  assert.deepEqual(
    worklist.op.parameters?.filter((p) => p.in === 'query').map((p) => p.name),
    ['status', 'finding', 'model', 'from', 'to', 'limit', 'offset'],
  );
  assert.ok(worklist.op.parameters?.every((p) => (p as { required?: boolean }).required === false));
  assert.deepEqual(worklist.op['x-radiolens-roles'], ['radiologist']);
  const events = operations.find((o) => o.op.operationId === 'watchWorklist')!;
  assert.deepEqual(Object.keys((events.op.responses['200'] as { content: object }).content), [
    'text/event-stream',
  ]);
});
