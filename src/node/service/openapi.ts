/**
 * The OpenAPI 3.1 document of the node's HTTP port, generated from the route table
 * (ADR 0173): every route, its parameters and body schema (zod → JSON Schema), who may call
 * it (`security` plus `x-radiolens-roles` / `x-radiolens-machines`), and whether it is audited.
 */
import { z } from 'zod';
import { SESSION_COOKIE } from '../access/index.js';
import type { RouteSpec } from './routeTable.js';

type Json = Record<string, unknown>;

const refusals = {
  '401': { description: 'Not authenticated: log in, or present the bearer token' },
  '403': {
    description:
      'Authenticated, but the role may not use this route (or a cookie session sent no CSRF token)',
  },
};

/** The query parameters of a route that declares them (each optional; others are refused). */
function queryParameters(route: RouteSpec): Json[] {
  if (route.query === undefined) return [];
  const schema = z.toJSONSchema(route.query, { io: 'input', unrepresentable: 'any' }) as {
    properties?: Record<string, Json>;
    required?: string[];
  };
  return Object.entries(schema.properties ?? {}).map(([name, property]) => ({
    name,
    in: 'query',
    required: schema.required?.includes(name) ?? false,
    schema: property,
  }));
}

function operation(route: RouteSpec): Json {
  const params = [...route.path.matchAll(/\{(\w+)\}/g)].map((m) => ({
    name: m[1],
    in: 'path',
    required: true,
    schema: { type: 'string' },
    ...(route.rest === true && m[1] === route.path.match(/\{(\w+)\}$/)?.[1]
      ? {
          description:
            route.handler === 'viewer'
              ? 'the rest of the path: a file of the app or one of its own routes (e.g. viewer); may be empty'
              : 'one or more path segments (tag, then item index and tag for nested attributes)',
        }
      : {}),
  }));
  const queryParams = queryParameters(route);
  const isPublic = route.access === 'public';
  const changesState = route.method === 'POST';
  const headers =
    !isPublic && changesState
      ? [
          {
            name: 'X-CSRF-Token',
            in: 'header',
            required: false,
            description: 'Required with the session cookie (not with the bearer token)',
            schema: { type: 'string' },
          },
        ]
      : [];
  const body: Json | undefined =
    route.requestBody === undefined
      ? undefined
      : {
          required: true,
          content: {
            [route.requestBody.contentType]: {
              schema:
                route.requestBody.schema === undefined
                  ? { type: 'string', format: 'binary' }
                  : z.toJSONSchema(route.requestBody.schema, {
                      io: 'input',
                      unrepresentable: 'any',
                    }),
            },
          },
        };
  const access = route.access;
  const security: Json[] =
    access === 'public'
      ? []
      : [
          ...(access.roles.length > 0 ? [{ session: [] }] : []),
          ...(access.machines !== 'none' ? [{ bearer: [] }] : []),
        ];
  return {
    operationId: route.operationId,
    summary: route.summary,
    tags: [route.tag],
    security,
    'x-radiolens-roles': access === 'public' ? [] : access.roles,
    'x-radiolens-machines': access === 'public' ? 'none' : access.machines,
    'x-radiolens-public': isPublic,
    'x-radiolens-audit': route.audit,
    ...(params.length + queryParams.length + headers.length > 0
      ? { parameters: [...params, ...queryParams, ...headers] }
      : {}),
    ...(body === undefined ? {} : { requestBody: body }),
    responses: {
      [String(route.success)]: {
        description: 'Success',
        content: { [route.produces]: {} },
      },
      ...(isPublic ? {} : refusals),
      ...(route.operationId === 'login'
        ? {
            '401': { description: 'Wrong user name or password' },
            '429': { description: 'Too many failed logins from this address or for this user' },
          }
        : {}),
    },
  };
}

export function openApiDocument(
  routes: readonly RouteSpec[],
  options: { readonly version: string; readonly tls: boolean },
): Json {
  const paths: Record<string, Record<string, Json>> = {};
  const cookie = SESSION_COOKIE(options.tls);
  for (const route of routes) {
    (paths[route.path] ??= {})[route.method.toLowerCase()] = operation(route);
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'Radiolens node',
      version: options.version,
      description:
        "Every route of the node's HTTP port. People log in (POST /api/login) and use the session cookie, sending X-CSRF-Token on changes; machine clients use the bearer token (RADIOLENS_HTTP_TOKEN). Only /health and /api/login are open.",
    },
    components: {
      securitySchemes: {
        session: { type: 'apiKey', in: 'cookie', name: cookie },
        bearer: { type: 'http', scheme: 'bearer' },
      },
    },
    paths,
  };
}
