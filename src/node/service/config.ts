/**
 * The node's configuration: a JSON file (`--config <file>`) validated with a schema at start,
 * merged with command-line flags (flags win), with defaults that start a working node with no
 * file at all (ADR 0110). Every problem is reported at once, by field path, with what to fix.
 */
import { hostname } from 'node:os';
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { z } from 'zod';
import { RadiolensError } from '../../foundation/core/index.js';
import {
  AE_TITLE_RULE,
  DEFAULT_ASSOCIATION_LIMITS,
  isAeTitle,
  type AssociationLimits,
} from '../../foundation/dimse/index.js';
import { DEFAULT_PARSING_LIMITS, type ParsingLimits } from '../../foundation/dicom/index.js';
import { parseDestination, type Destination } from '../delivery/index.js';
import { SHARED_STORE_URL_ENV, parseSharedStore, type SharedStore } from '../sharedStore/index.js';
import { isAbsoluteUri } from '../../inference/results/index.js';
import { CAVEAT_CODES } from '../../inference/analysis/index.js';
import { isIP } from 'node:net';
import { defaultOhifDir } from '../viewer/index.js';
import { sha256OfToken } from './httpAccess.js';
import { retentionConfigOf, retentionSchema, type RetentionConfig } from './retention.js';

/** What a routing rule may test; each a value or a list of accepted values. */
const matchValue = z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]);

const MODEL_REF = /^[A-Za-z0-9][\w.-]*(@[\w.+-]+)?$/;
const modelRef = z
  .string()
  .regex(MODEL_REF, { message: 'a model is written id or id@version, e.g. cxr-pneumonia@1.2.0' });

const aeTitle = z.string().refine(isAeTitle, { message: AE_TITLE_RULE });

const port = z
  .number({ message: 'a port is a whole number from 0 to 65535 (0 picks a free one)' })
  .int({ message: 'a port is a whole number from 0 to 65535 (0 picks a free one)' })
  .min(0, { message: 'a port is a whole number from 0 to 65535 (0 picks a free one)' })
  .max(65535, { message: 'a port is a whole number from 0 to 65535 (0 picks a free one)' });

/** A shadow model names its version: a pilot runs one exact package. */
const VERSIONED_MODEL_REF = /^[A-Za-z0-9][\w.-]*@[\w.+-]+$/;
const shadowRef = z.string().regex(VERSIONED_MODEL_REF, {
  message: 'a shadow model is written id@version, e.g. cxr-pneumonia@2.0.0',
});

export const routeRuleSchema = z
  .object({
    match: z
      .object({
        modality: matchValue.optional(),
        bodyPartExamined: matchValue.optional(),
        viewPosition: matchValue.optional(),
        sopClassUid: matchValue.optional(),
        callingAeTitle: matchValue.optional(),
      })
      .strict(),
    // [] is an exclusion: studies this rule matches first are analysed by no model.
    models: z.array(modelRef),
    // Models that analyse the study in shadow mode: results kept in the node, never sent.
    shadow: z.array(shadowRef).optional(),
  })
  .strict();

/** The scheduled drift monitor (ADR 0087); `false` turns it off. */
const monitoringSchema = z.union([
  z.literal(false),
  z
    .object({
      intervalMinutes: z.number().min(1, { message: 'intervalMinutes is at least 1' }).optional(),
      /** Window: the most recent analysed images of each model version. */
      lastImages: z
        .number()
        .int()
        .min(30, { message: 'lastImages is at least 30 (the tests need it)' })
        .optional(),
      /** Consecutive drifting runs before an alert. */
      persistence: z.number().int().min(1).optional(),
      webhook: z
        .string()
        .refine((value) => /^https?:\/\/[^\s]+$/.test(value), {
          message: 'the webhook is an http(s) URL',
        })
        .optional(),
    })
    .strict(),
]);

export type RouteRule = z.infer<typeof routeRuleSchema>;

const allowedCallerSchema = z
  .object({
    // '*' stands for any calling AE title (ADR 0110); combine it with addresses.
    aeTitle: z.union([z.literal('*'), aeTitle]),
    addresses: z
      .array(
        z.string().refine((value) => isIP(value) !== 0, {
          message: 'list IPv4 or IPv6 addresses, not host names',
        }),
      )
      .optional(),
  })
  .strict();

const positiveSeconds = (what: string): z.ZodNumber =>
  z
    .number({ message: `${what} is a number of seconds` })
    .min(0, { message: `${what} cannot be negative` });

const wholeAtLeast = (what: string, min: number, unit: string): z.ZodNumber =>
  z
    .number({ message: `${what} is a whole number of ${unit}` })
    .int({ message: `${what} is a whole number of ${unit}` })
    .min(min, { message: `${what} is at least ${min} ${unit}` });

/** The DICOM port's limits (ADR 0122); times in seconds, sizes in bytes. */
const dicomLimitsSchema = z
  .object({
    maxPduLength: wholeAtLeast('maxPduLength', 4096, 'bytes').optional(),
    maxAssociateRequestLength: wholeAtLeast('maxAssociateRequestLength', 1024, 'bytes').optional(),
    maxDatasetBytes: wholeAtLeast('maxDatasetBytes', 1024, 'bytes').optional(),
    maxAssociations: wholeAtLeast('maxAssociations', 1, 'associations').optional(),
    associationRequestSeconds: z.number().positive().optional(),
    idleSeconds: z.number().positive().optional(),
    pduSeconds: z.number().positive().optional(),
  })
  .strict();

/** Limits of the one Part 10 reading path (ADR 0123). */
const parsingLimitsSchema = z
  .object({
    maxInflatedBytes: wholeAtLeast('maxInflatedBytes', 1024, 'bytes').optional(),
    inflateAllowanceBytes: wholeAtLeast('inflateAllowanceBytes', 1024, 'bytes').optional(),
    maxSequenceDepth: wholeAtLeast('maxSequenceDepth', 1, 'levels').optional(),
  })
  .strict();

// ── Issue #16 (ADRs 0131–0135): listeners apart, HTTP access, receive limits, health,
// private storage. Kept in one block so that other changes to this file merge cleanly.
const listenAddress = (field: string) =>
  z.string().refine((value) => isIP(value) !== 0, {
    message: `${field} is the IP address to listen on, e.g. 0.0.0.0 or 127.0.0.1`,
  });
const positiveBytes = (what: string) =>
  z
    .number({ message: `${what} is a number of bytes` })
    .int({ message: `${what} is a whole number of bytes` })
    .min(1, { message: `${what} must be at least 1` });

export const httpSectionSchema = z
  .object({
    /** Clients that may use DICOMweb without a token; default: the DICOM allow-list's addresses. */
    allowAddresses: z
      .array(
        z.string().refine((value) => isIP(value) !== 0, {
          message: 'list IPv4 or IPv6 addresses, not host names',
        }),
      )
      .optional(),
    /** sha256 (hex) of the bearer token; the token itself belongs in RADIOLENS_HTTP_TOKEN. */
    tokenSha256: z
      .string()
      .regex(/^[0-9a-f]{64}$/, {
        message: 'tokenSha256 is 64 lower-case hex digits: printf %s "$TOKEN" | sha256sum',
      })
      .optional(),
    maxRequestBytes: positiveBytes('maxRequestBytes').optional(),
    maxPartBytes: positiveBytes('maxPartBytes').optional(),
    /** HTTPS on the HTTP port (ADR 0177): PEM certificate (chain) and private key files. */
    tls: z
      .object({ certFile: z.string().min(1), keyFile: z.string().min(1) })
      .strict()
      .optional(),
  })
  .strict();

export const storageSectionSchema = z
  .object({
    /** A group that may read the data folder (0750/0640 instead of 0700/0600). */
    group: z.union([z.string().min(1), z.number().int().min(0)]).optional(),
    /** Looser permissions found at start-up: refuse to start (default) or only warn. */
    loosePermissions: z.enum(['refuse', 'warn']).optional(),
  })
  .strict();

/** The reading room's worklist (ADR 0178): how many studies may be marked urgent at once. */
export const worklistSectionSchema = z
  .object({
    alertBudget: z
      .object({
        maxUrgent: z
          .number()
          .int({ message: 'maxUrgent is a whole number' })
          .min(0, { message: 'maxUrgent is 0 (mark none urgent) or more' })
          .max(100, {
            message: 'maxUrgent above 100 is no budget: alerts that fire too often are ignored',
          })
          .optional(),
        windowHours: z
          .number()
          .min(1, { message: 'windowHours is at least 1' })
          .max(24 * 14, { message: 'windowHours is at most 336 (two weeks)' })
          .optional(),
      })
      .strict()
      .optional(),
    /**
     * Caveat codes that keep a finding from being prioritised on this site, besides those the
     * analysis itself marks as demoting (out-of-distribution) — e.g. `missing-view-position`
     * where the site's modalities always write it and its absence means a mislabelled image
     * (ADR 0179).
     */
    demoteOnCaveats: z
      .array(
        z.enum(CAVEAT_CODES, {
          message: `demoteOnCaveats lists caveat codes: ${CAVEAT_CODES.join(', ')}`,
        }),
      )
      .optional(),
  })
  .strict();

export const healthSectionSchema = z
  .object({
    /** Ingest is refused (and /health is 503) below this much free space. */
    minFreeBytes: z.number().int().min(0).optional(),
    /** A job running longer than this is reported stuck. */
    stuckJobSeconds: z.number().min(1).optional(),
  })
  .strict();

/** Environment variable holding the HTTP bearer token (never a flag: flags show in `ps`). */
export const HTTP_TOKEN_ENV = 'RADIOLENS_HTTP_TOKEN';

export const HARDENING_DEFAULTS = {
  maxRequestBytes: 1024 * 1024 * 1024,
  maxPartBytes: 512 * 1024 * 1024,
  minFreeBytes: 512 * 1024 * 1024,
  stuckJobSeconds: 3600,
} as const;
// ── end of the issue #16 block

/** The config file: every field optional, defaults applied after merging with flags. */
export const nodeConfigFileSchema = z
  .object({
    dataDir: z.string().min(1).optional(),
    aeTitle: aeTitle.optional(),
    dicomPort: port.optional(),
    httpPort: port.optional(),
    host: z
      .string()
      .refine((value) => isIP(value) !== 0, {
        message: 'host is the IP address to listen on, e.g. 0.0.0.0 or 127.0.0.1',
      })
      .optional(),
    allowedCallers: z.array(allowedCallerSchema).optional(),
    // Issue #16: listeners apart; `host` stays the shorthand for both.
    dicomHost: listenAddress('dicomHost').optional(),
    httpHost: listenAddress('httpHost').optional(),
    http: httpSectionSchema.optional(),
    storage: storageSectionSchema.optional(),
    health: healthSectionSchema.optional(),
    worklist: worklistSectionSchema.optional(),
    /** The OHIF Viewer served at /ohif/ (ADR 0195): the folder holding its built app. */
    viewer: z
      .object({ ohifDir: z.string().min(1).optional() })
      .strict()
      .optional(),
    quietPeriodSeconds: positiveSeconds('quietPeriodSeconds').optional(),
    workers: z
      .number()
      .int({ message: 'workers is a whole number' })
      .min(0, { message: 'workers is 0 (ingest only) or more' })
      .max(64, { message: 'workers above 64 makes no sense on one machine' })
      .optional(),
    routes: z.array(routeRuleSchema).optional(),
    models: z.array(modelRef).optional(),
    shadowModels: z.array(shadowRef).optional(),
    monitoring: monitoringSchema.optional(),
    destinations: z.array(z.string().min(1)).optional(),
    watchFolder: z.union([z.string().min(1), z.literal(false)]).optional(),
    modelsDir: z.string().min(1).optional(),
    patientIdSystem: z
      .string()
      .refine(isAbsoluteUri, {
        message:
          'patientIdSystem must be an absolute URI, e.g. urn:oid:1.2.3.4 or https://hospital.example/mrn',
      })
      .optional(),
    leaseSeconds: z
      .number()
      .min(1, { message: 'leaseSeconds must be at least 1 (workers renew it every third)' })
      .optional(),
    shutdownGraceSeconds: positiveSeconds('shutdownGraceSeconds').optional(),
    dicomLimits: dicomLimitsSchema.optional(),
    parsingLimits: parsingLimitsSchema.optional(),
    // Issue #17: the node's queue, outbox and lease in a shared PostgreSQL database (ADR 0183).
    database: z
      .string()
      .regex(/^postgres(ql)?:\/\//, {
        message: 'database is a PostgreSQL URL, postgresql://user@host:5432/database',
      })
      .optional(),
    nodeId: z
      .string()
      .regex(/^[A-Za-z0-9][A-Za-z0-9._:@-]{0,127}$/, {
        message: 'nodeId is 1–128 letters, digits and . _ : @ - (unique in the cluster)',
      })
      .optional(),
    nodeLeaseSeconds: z
      .number()
      .min(1, { message: 'nodeLeaseSeconds must be at least 1 (renewed every third)' })
      .optional(),
    // Retention of finished jobs and delivered outbox entries (ADR 0189).
    retention: retentionSchema.optional(),
    // Issue #17: the cluster's shared DICOM store, Orthanc over DICOMweb (ADR 0187).
    sharedStore: z.string().min(1).optional(),
    delivery: z
      .object({
        retryFirstSeconds: positiveSeconds('retryFirstSeconds').optional(),
        retryMaxSeconds: positiveSeconds('retryMaxSeconds').optional(),
        claimSeconds: z
          .number()
          .min(1, { message: 'claimSeconds must exceed the longest send; at least 1' })
          .optional(),
      })
      .strict()
      .optional(),
  })
  .strict();

export type NodeConfigFile = z.infer<typeof nodeConfigFileSchema>;

/** Flags of `radiolens serve`; undefined means "not given". */
export interface NodeFlags {
  readonly config?: string;
  readonly data?: string;
  readonly aeTitle?: string;
  readonly dicomPort?: number;
  readonly httpPort?: number;
  readonly host?: string;
  readonly dicomHost?: string;
  readonly httpHost?: string;
  /** Client addresses allowed to use DICOMweb without a token (`--http-allow`). */
  readonly httpAllow?: readonly string[];
  /** PEM certificate and key: the HTTP port speaks TLS (`--tls-cert`, `--tls-key`). */
  readonly tlsCert?: string;
  readonly tlsKey?: string;
  readonly allow?: readonly string[];
  readonly model?: readonly string[];
  readonly shadow?: readonly string[];
  readonly sendTo?: readonly string[];
  readonly watch?: string | false;
  readonly quietPeriod?: number;
  readonly workers?: number;
  readonly modelsDir?: string;
  readonly maxAssociations?: number;
  readonly dicomIdleTimeout?: number;
  /** postgresql://… : queue, outbox and lease in a shared database (`--database`). */
  readonly database?: string;
  readonly nodeId?: string;
  /** dicomweb+http://…/dicom-web : the cluster's shared DICOM store (`--shared-store`). */
  readonly sharedStore?: string;
}

export interface AllowedCallerConfig {
  readonly aeTitle: string;
  readonly addresses?: readonly string[];
}

/** The validated, complete configuration the node runs with. */
export interface NodeConfig {
  readonly dataDir: string;
  readonly aeTitle: string;
  readonly dicomPort: number;
  readonly httpPort: number;
  /** Where the DICOM port listens (`--dicom-host`, or `--host` for both). */
  readonly dicomHost: string;
  /** Where the HTTP port listens (`--http-host`, or `--host` for both). */
  readonly httpHost: string;
  readonly allowedCallers: readonly AllowedCallerConfig[];
  /** Who may use DICOMweb, and how much one request may carry (ADRs 0131, 0132). */
  readonly http: {
    readonly allowAddresses: readonly string[];
    readonly tokenSha256: string | null;
    readonly maxRequestBytes: number;
    readonly maxPartBytes: number;
    /** HTTPS when set (ADR 0177); absolute paths. */
    readonly tls: { readonly certFile: string; readonly keyFile: string } | null;
  };
  /** File modes of the data folder (ADR 0135). */
  readonly storage: {
    readonly group: string | number | null;
    readonly loosePermissions: 'refuse' | 'warn';
  };
  /** When /health reports trouble (ADR 0134). */
  readonly health: { readonly minFreeBytes: number; readonly stuckJobSeconds: number };
  /** The worklist's alert budget (ADR 0178). */
  readonly worklist: {
    readonly alertBudget: { readonly maxUrgent: number; readonly windowHours: number };
    /** Caveat codes that demote besides the analysis' own rule (ADR 0179). */
    readonly demoteOnCaveats: readonly string[];
  };
  /** The folder of the OHIF app served at /ohif/ (default `<data>/viewer/ohif-<version>/dist`). */
  readonly viewer: { readonly ohifDir: string };
  readonly quietPeriodSeconds: number;
  readonly workers: number;
  readonly routes: readonly RouteRule[];
  /** The default route: models for a study no rule matches ([] = the installed one that fits). */
  readonly models: readonly string[];
  /** Shadow models of the default route (id@version): run, kept, never delivered. */
  readonly shadowModels: readonly string[];
  /** The scheduled drift monitor, or null when turned off (ADR 0087). */
  readonly monitoring: {
    readonly intervalMinutes: number;
    readonly lastImages: number;
    readonly persistence: number;
    readonly webhook: string | null;
  } | null;
  readonly destinations: readonly { readonly spec: string; readonly destination: Destination }[];
  /** Watched import folder, or null when off. */
  readonly watchFolder: string | null;
  readonly modelsDir: string;
  /** FHIR Patient.identifier system when the images name no issuer URI (ADR 0152), or null. */
  readonly patientIdSystem: string | null;
  readonly leaseSeconds: number;
  readonly shutdownGraceSeconds: number;
  /** The DICOM port's limits, times in milliseconds (ADR 0122). */
  readonly dicomLimits: AssociationLimits;
  /** Limits of the Part 10 reading path, set process-wide at start (ADR 0123). */
  readonly parsingLimits: ParsingLimits;
  /** Outbox retry backoff and send claim (ADR 0110); the outbox's defaults when absent. */
  readonly delivery: {
    readonly retryFirstSeconds?: number;
    readonly retryMaxSeconds?: number;
    readonly claimSeconds?: number;
  };
  /**
   * The shared PostgreSQL database holding the job queue, the outbox and this node's lease
   * (issue #17, ADR 0183), or null: everything in the data directory's SQLite (the default).
   */
  readonly cluster: ClusterConfig | null;
  /** How long finished jobs and delivered entries are kept, and how often pruned (ADR 0189). */
  readonly retention: RetentionConfig;
  /**
   * The cluster's shared DICOM store (ADR 0187): stable studies go there by STOW-RS and jobs
   * name them by UIDs, or null: jobs carry file paths on a shared folder (ADR 0183).
   */
  readonly sharedStore: SharedStore | null;
}

/**
 * The shared store from a flag, the file or $RADIOLENS_SHARED_STORE_URL (in that order), or
 * null when none names one. It needs the shared queue: without --database every job runs
 * in this node, on its own files.
 */
export function sharedStoreOf(
  spec: string | undefined,
  cluster: ClusterConfig | null,
): SharedStore | null {
  const env = process.env[SHARED_STORE_URL_ENV];
  const given = spec ?? (env !== undefined && env !== '' ? env : undefined);
  if (given === undefined) return null;
  const store = parseSharedStore(given);
  if (cluster === null) {
    throw new RadiolensError(
      'E_BAD_INPUT',
      `a shared DICOM store (--shared-store, the file's "sharedStore" or ${SHARED_STORE_URL_ENV}) serves a cluster — give --database too, or leave the store out`,
    );
  }
  return store;
}

export interface ClusterConfig {
  /** postgresql://… ; its password never goes to a log or /health (redactUrl). */
  readonly databaseUrl: string;
  /** Unique in the cluster; a second process with the same id is refused (ADR 0182). */
  readonly nodeId: string;
  readonly nodeLeaseSeconds: number;
}

/**
 * Environment variable with the database URL: a password in a flag shows in `ps` and in
 * systemd's unit listing, one in the environment (or in ~/.pgpass, PGPASSWORD) does not.
 */
export const DATABASE_URL_ENV = 'RADIOLENS_DATABASE_URL';

/**
 * The cluster settings from a flag, the file or the environment (in that order), or null when
 * none names a database. The node id defaults to `<role>@<host>`.
 */
export function clusterConfigOf(
  given: { database?: string; nodeId?: string; nodeLeaseSeconds?: number },
  role: 'serve' | 'worker',
): ClusterConfig | null {
  const env = process.env[DATABASE_URL_ENV];
  const databaseUrl = given.database ?? (env !== undefined && env !== '' ? env : undefined);
  if (databaseUrl === undefined) return null;
  if (!/^postgres(ql)?:\/\//.test(databaseUrl)) {
    throw new RadiolensError(
      'E_BAD_INPUT',
      `the database (--database, the file's "database" or ${DATABASE_URL_ENV}) is not a PostgreSQL URL — write it as postgresql://user@host:5432/database`,
    );
  }
  return {
    databaseUrl,
    nodeId: given.nodeId ?? `${role}@${hostname()}`,
    nodeLeaseSeconds: given.nodeLeaseSeconds ?? DEFAULTS.nodeLeaseSeconds,
  };
}

export const DEFAULTS = {
  dataDir: 'radiolens-data',
  aeTitle: 'RADIOLENS',
  dicomPort: 11112,
  httpPort: 8080,
  host: '0.0.0.0',
  // Secure by default and still working out of the box: any AE title, from this machine only.
  allowedCallers: [{ aeTitle: '*', addresses: ['127.0.0.1', '::1'] }],
  quietPeriodSeconds: 30,
  workers: 1,
  leaseSeconds: 30,
  nodeLeaseSeconds: 30,
  shutdownGraceSeconds: 30,
  monitoring: { intervalMinutes: 60, lastImages: 200, persistence: 2 },
  // A handful of urgent marks a day: few enough that each one is read (ADR 0178).
  worklist: { alertBudget: { maxUrgent: 5, windowHours: 24 }, demoteOnCaveats: [] },
} as const;

/** `AET` or `AET@address`; the address is split at the last '@'. */
export function parseAllowFlag(text: string): AllowedCallerConfig {
  const at = text.lastIndexOf('@');
  if (at <= 0) return { aeTitle: text };
  return { aeTitle: text.slice(0, at), addresses: [text.slice(at + 1)] };
}

/** Merges repeated `--allow AET@addr` entries of one AE title into one caller. */
function mergeCallers(
  callers: readonly AllowedCallerConfig[],
): { aeTitle: string; addresses?: string[] }[] {
  const byTitle = new Map<string, { aeTitle: string; addresses?: string[] }>();
  for (const caller of callers) {
    const known = byTitle.get(caller.aeTitle);
    if (known === undefined) {
      byTitle.set(caller.aeTitle, {
        aeTitle: caller.aeTitle,
        ...(caller.addresses ? { addresses: [...caller.addresses] } : {}),
      });
    } else if (known.addresses !== undefined) {
      // An entry without addresses allows every address; keep the wider one.
      if (caller.addresses === undefined) delete known.addresses;
      else known.addresses.push(...caller.addresses);
    }
  }
  return [...byTitle.values()];
}

/** The command-line flag that sets each field, to name it as the user typed it. */
const FLAG_OF: Readonly<Record<string, string>> = {
  dataDir: '--data',
  aeTitle: '--ae-title',
  dicomPort: '--dicom-port',
  httpPort: '--http-port',
  host: '--host',
  dicomHost: '--dicom-host',
  httpHost: '--http-host',
  http: '--http-allow',
  allowedCallers: '--allow',
  models: '--model',
  shadowModels: '--shadow',
  destinations: '--send-to',
  watchFolder: '--watch',
  quietPeriodSeconds: '--quiet-period',
  workers: '--workers',
  database: '--database',
  nodeId: '--node-id',
  sharedStore: '--shared-store',
  modelsDir: '--registry',
  'dicomLimits.maxAssociations': '--max-associations',
  'dicomLimits.idleSeconds': '--dicom-idle-timeout',
};

function formatIssues(issues: readonly z.core.$ZodIssue[], where: string, asFlags = false): string {
  const lines = issues.map((issue) => {
    let path = issue.path.length === 0 ? '(top level)' : issue.path.join('.');
    if (asFlags) {
      const parts = issue.path.map(String);
      // --http-allow fills http.allowAddresses: name the flag, not the nested key.
      if (parts[0] === 'http' && parts[1] === 'allowAddresses') parts.splice(0, 2, 'http');
      const [field, index, ...rest] = parts;
      const nested = FLAG_OF[`${field ?? ''}.${index ?? ''}`];
      if (nested !== undefined) return `  ${nested}: ${issue.message}`;
      // --allow/--model/--send-to are repeatable: "--allow (2nd)" rather than allowedCallers.1
      const which = index === undefined ? '' : ` (#${Number(index) + 1})`;
      path = `${FLAG_OF[field ?? ''] ?? field}${which}${rest.length > 0 ? ` ${rest.join('.')}` : ''}`;
    }
    return `  ${path}: ${issue.message}`;
  });
  return `problems in ${where}:\n${lines.join('\n')}`;
}

function readConfigFile(file: string): NodeConfigFile {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (cause) {
    throw new RadiolensError(
      'E_BAD_INPUT',
      `cannot read the configuration file ${file}: ${(cause as Error).message} — check the --config path`,
      { subject: file, cause },
    );
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (cause) {
    throw new RadiolensError(
      'E_BAD_INPUT',
      `the configuration file ${file} is not valid JSON: ${(cause as Error).message} — fix the syntax`,
      { subject: file, cause },
    );
  }
  const parsed = nodeConfigFileSchema.safeParse(json);
  if (!parsed.success) {
    throw new RadiolensError('E_BAD_INPUT', formatIssues(parsed.error.issues, file), {
      subject: file,
    });
  }
  return parsed.data;
}

/**
 * Issue #16: the two listen addresses (a specific flag, then `--host`, then the file's
 * specific key, then its `host`), DICOMweb access and limits, health bounds and file modes.
 */
function listenersAndAccess(flagConfig: NodeConfigFile, fileConfig: NodeConfigFile) {
  const allowedCallers = flagConfig.allowedCallers ??
    fileConfig.allowedCallers ?? [...DEFAULTS.allowedCallers];
  const hostFor = (specific: 'dicomHost' | 'httpHost'): string =>
    flagConfig[specific] ??
    flagConfig.host ??
    fileConfig[specific] ??
    fileConfig.host ??
    DEFAULTS.host;
  // STOW-RS applies the DICOM allow-list's addresses unless told otherwise. An entry without
  // addresses admits an AE title from anywhere; over HTTP there is no AE title, so it
  // admits nobody.
  const fromCallers = [...new Set(allowedCallers.flatMap((caller) => caller.addresses ?? []))];
  const token = process.env[HTTP_TOKEN_ENV];
  const http = { ...fileConfig.http, ...flagConfig.http };
  return {
    dicomHost: hostFor('dicomHost'),
    httpHost: hostFor('httpHost'),
    allowedCallers,
    http: {
      allowAddresses: http.allowAddresses ?? fromCallers,
      // The environment's token wins over the file's hash; only its hash is kept.
      tokenSha256:
        token !== undefined && token !== '' ? sha256OfToken(token) : (http.tokenSha256 ?? null),
      maxRequestBytes: http.maxRequestBytes ?? HARDENING_DEFAULTS.maxRequestBytes,
      maxPartBytes: http.maxPartBytes ?? HARDENING_DEFAULTS.maxPartBytes,
      tls: http.tls ?? null,
    },
    storage: {
      group: fileConfig.storage?.group ?? null,
      loosePermissions: fileConfig.storage?.loosePermissions ?? 'refuse',
    },
    health: {
      minFreeBytes: fileConfig.health?.minFreeBytes ?? HARDENING_DEFAULTS.minFreeBytes,
      stuckJobSeconds: fileConfig.health?.stuckJobSeconds ?? HARDENING_DEFAULTS.stuckJobSeconds,
    },
  } as const;
}

/**
 * Reads `flags.config` (when given), applies the flags over it and the defaults under both,
 * and validates the result. Paths in the file are relative to the file; paths in flags to
 * the working directory. Throws RadiolensError E_BAD_INPUT listing every problem.
 */
export function loadNodeConfig(flags: NodeFlags, defaultModelsDir: string): NodeConfig {
  const fileConfig = flags.config === undefined ? {} : readConfigFile(resolve(flags.config));
  const base = flags.config === undefined ? process.cwd() : dirname(resolve(flags.config));
  const fromFile = (path: string | undefined): string | undefined =>
    path === undefined ? undefined : resolve(base, path);

  // Flags go through the same schema so that their errors read the same way.
  const flagConfig: NodeConfigFile = {
    ...(flags.data !== undefined ? { dataDir: resolve(flags.data) } : {}),
    ...(flags.aeTitle !== undefined ? { aeTitle: flags.aeTitle } : {}),
    ...(flags.dicomPort !== undefined ? { dicomPort: flags.dicomPort } : {}),
    ...(flags.httpPort !== undefined ? { httpPort: flags.httpPort } : {}),
    ...(flags.host !== undefined ? { host: flags.host } : {}),
    ...(flags.dicomHost !== undefined ? { dicomHost: flags.dicomHost } : {}),
    ...(flags.httpHost !== undefined ? { httpHost: flags.httpHost } : {}),
    ...(flags.httpAllow !== undefined || flags.tlsCert !== undefined || flags.tlsKey !== undefined
      ? {
          http: {
            ...(flags.httpAllow !== undefined && flags.httpAllow.length > 0
              ? { allowAddresses: [...flags.httpAllow] }
              : {}),
            ...tlsFromFlags(flags),
          },
        }
      : {}),
    ...(flags.allow !== undefined && flags.allow.length > 0
      ? { allowedCallers: mergeCallers(flags.allow.map(parseAllowFlag)) }
      : {}),
    ...(flags.model !== undefined && flags.model.length > 0 ? { models: [...flags.model] } : {}),
    ...(flags.shadow !== undefined && flags.shadow.length > 0
      ? { shadowModels: [...flags.shadow] }
      : {}),
    ...(flags.sendTo !== undefined && flags.sendTo.length > 0
      ? { destinations: [...flags.sendTo] }
      : {}),
    ...(flags.watch !== undefined
      ? { watchFolder: flags.watch === false ? false : resolve(flags.watch) }
      : {}),
    ...(flags.quietPeriod !== undefined ? { quietPeriodSeconds: flags.quietPeriod } : {}),
    ...(flags.workers !== undefined ? { workers: flags.workers } : {}),
    ...(flags.modelsDir !== undefined ? { modelsDir: resolve(flags.modelsDir) } : {}),
    ...(flags.database !== undefined ? { database: flags.database } : {}),
    ...(flags.nodeId !== undefined ? { nodeId: flags.nodeId } : {}),
    ...(flags.sharedStore !== undefined ? { sharedStore: flags.sharedStore } : {}),
    ...(flags.maxAssociations !== undefined || flags.dicomIdleTimeout !== undefined
      ? {
          dicomLimits: {
            ...(flags.maxAssociations !== undefined
              ? { maxAssociations: flags.maxAssociations }
              : {}),
            ...(flags.dicomIdleTimeout !== undefined
              ? { idleSeconds: flags.dicomIdleTimeout }
              : {}),
          },
        }
      : {}),
  };
  const checkedFlags = nodeConfigFileSchema.safeParse(flagConfig);
  if (!checkedFlags.success) {
    throw new RadiolensError(
      'E_BAD_INPUT',
      formatIssues(checkedFlags.error.issues, 'the command-line flags', true),
    );
  }

  if (fileConfig.http?.tls !== undefined) {
    // Paths in the file are relative to the file.
    const tls = fileConfig.http.tls;
    fileConfig.http.tls = { certFile: fromFile(tls.certFile)!, keyFile: fromFile(tls.keyFile)! };
  }
  const fileDataDir = fromFile(fileConfig.dataDir);
  const dataDir = flagConfig.dataDir ?? fileDataDir ?? resolve(DEFAULTS.dataDir);
  const fileWatch =
    fileConfig.watchFolder === false ? false : fromFile(fileConfig.watchFolder ?? undefined);
  const watch = flagConfig.watchFolder ?? fileWatch;

  const destinationSpecs = flagConfig.destinations ?? fileConfig.destinations ?? [];
  const problems: string[] = [];
  const destinations: { spec: string; destination: Destination }[] = [];
  destinationSpecs.forEach((spec, index) => {
    try {
      destinations.push({ spec, destination: parseDestination(spec) });
    } catch (error) {
      const where = flagConfig.destinations ? `--send-to ${spec}` : `destinations.${index}`;
      problems.push(`  ${where}: ${(error as Error).message}`);
    }
  });
  if (problems.length > 0) {
    throw new RadiolensError(
      'E_BAD_INPUT',
      `problems in the destinations — fix or remove them:\n${problems.join('\n')}`,
    );
  }
  const cluster = clusterConfigOf(
    {
      ...optional('database', flagConfig.database ?? fileConfig.database),
      ...optional('nodeId', flagConfig.nodeId ?? fileConfig.nodeId),
      ...optional('nodeLeaseSeconds', fileConfig.nodeLeaseSeconds),
    },
    'serve',
  );

  return {
    dataDir,
    aeTitle: flagConfig.aeTitle ?? fileConfig.aeTitle ?? DEFAULTS.aeTitle,
    dicomPort: flagConfig.dicomPort ?? fileConfig.dicomPort ?? DEFAULTS.dicomPort,
    httpPort: flagConfig.httpPort ?? fileConfig.httpPort ?? DEFAULTS.httpPort,
    ...listenersAndAccess(flagConfig, fileConfig),
    quietPeriodSeconds:
      flagConfig.quietPeriodSeconds ?? fileConfig.quietPeriodSeconds ?? DEFAULTS.quietPeriodSeconds,
    workers: flagConfig.workers ?? fileConfig.workers ?? DEFAULTS.workers,
    worklist: {
      alertBudget: { ...DEFAULTS.worklist.alertBudget, ...fileConfig.worklist?.alertBudget },
      demoteOnCaveats: fileConfig.worklist?.demoteOnCaveats ?? [],
    },
    viewer: { ohifDir: fromFile(fileConfig.viewer?.ohifDir) ?? defaultOhifDir(dataDir) },
    routes: fileConfig.routes ?? [],
    models: flagConfig.models ?? fileConfig.models ?? [],
    shadowModels: flagConfig.shadowModels ?? fileConfig.shadowModels ?? [],
    monitoring:
      fileConfig.monitoring === false
        ? null
        : {
            intervalMinutes:
              fileConfig.monitoring?.intervalMinutes ?? DEFAULTS.monitoring.intervalMinutes,
            lastImages: fileConfig.monitoring?.lastImages ?? DEFAULTS.monitoring.lastImages,
            persistence: fileConfig.monitoring?.persistence ?? DEFAULTS.monitoring.persistence,
            webhook: fileConfig.monitoring?.webhook ?? null,
          },
    destinations,
    watchFolder: watch === false ? null : (watch ?? join(dataDir, 'import')),
    modelsDir: flagConfig.modelsDir ?? fromFile(fileConfig.modelsDir) ?? defaultModelsDir,
    patientIdSystem: fileConfig.patientIdSystem ?? null,
    leaseSeconds: fileConfig.leaseSeconds ?? DEFAULTS.leaseSeconds,
    shutdownGraceSeconds: fileConfig.shutdownGraceSeconds ?? DEFAULTS.shutdownGraceSeconds,
    dicomLimits: dicomLimitsOf({ ...fileConfig.dicomLimits, ...flagConfig.dicomLimits }),
    parsingLimits: { ...DEFAULT_PARSING_LIMITS, ...fileConfig.parsingLimits },
    delivery: fileConfig.delivery ?? {},
    cluster,
    sharedStore: sharedStoreOf(flagConfig.sharedStore ?? fileConfig.sharedStore, cluster),
    retention: retentionConfigOf(fileConfig.retention),
  };
}

/** `{ [name]: value }`, or nothing when the value is undefined (exactOptionalPropertyTypes). */
function optional<K extends string, V>(name: K, value: V | undefined): { [P in K]?: V } {
  return value === undefined ? {} : ({ [name]: value } as { [P in K]?: V });
}

/** `--tls-cert` and `--tls-key` come together or not at all. */
function tlsFromFlags(flags: NodeFlags): { tls?: { certFile: string; keyFile: string } } {
  if (flags.tlsCert === undefined && flags.tlsKey === undefined) return {};
  if (flags.tlsCert === undefined || flags.tlsKey === undefined) {
    throw new RadiolensError(
      'E_BAD_INPUT',
      `--tls-cert and --tls-key go together: give ${flags.tlsCert === undefined ? '--tls-cert <certificate.pem>' : '--tls-key <key.pem>'} too`,
    );
  }
  return { tls: { certFile: resolve(flags.tlsCert), keyFile: resolve(flags.tlsKey) } };
}

/** The file's dicomLimits (seconds) over the defaults, as the SCP takes them (milliseconds). */
function dicomLimitsOf(file: z.infer<typeof dicomLimitsSchema>): AssociationLimits {
  const ms = (seconds: number | undefined, fallback: number): number =>
    seconds === undefined ? fallback : Math.max(1, Math.round(seconds * 1000));
  const defaults = DEFAULT_ASSOCIATION_LIMITS;
  return {
    maxPduLength: file.maxPduLength ?? defaults.maxPduLength,
    maxAssociateRequestLength: file.maxAssociateRequestLength ?? defaults.maxAssociateRequestLength,
    maxDatasetBytes: file.maxDatasetBytes ?? defaults.maxDatasetBytes,
    maxAssociations: file.maxAssociations ?? defaults.maxAssociations,
    associationRequestTimeoutMs: ms(
      file.associationRequestSeconds,
      defaults.associationRequestTimeoutMs,
    ),
    idleTimeoutMs: ms(file.idleSeconds, defaults.idleTimeoutMs),
    pduTimeoutMs: ms(file.pduSeconds, defaults.pduTimeoutMs),
  };
}
