/**
 * The configuration of `radiolens worker` (issue #17, ADR 0184): a process that takes analysis
 * jobs from the shared PostgreSQL queue. Flags only; the database URL may come from
 * $RADIOLENS_DATABASE_URL so that its password stays out of `ps`.
 */
import { isIP } from 'node:net';
import { resolve } from 'node:path';
import { RadiolensError } from '../../foundation/core/index.js';
import { parseDestination, type Destination } from '../delivery/index.js';
import { isAbsoluteUri } from '../../inference/results/index.js';
import type { SharedStore } from '../sharedStore/index.js';
import {
  DATABASE_URL_ENV,
  DEFAULTS,
  clusterConfigOf,
  sharedStoreOf,
  type ClusterConfig,
} from './config.js';

export interface WorkerFlags {
  readonly database?: string;
  readonly nodeId?: string;
  readonly data?: string;
  readonly modelsDir?: string;
  /** Jobs this process runs at once (default 1). */
  readonly workers?: number;
  /** onnxruntime threads per model run (default: every core). */
  readonly threads?: number;
  readonly sendTo?: readonly string[];
  /** Whether this process also sends what is in the outbox (default true). */
  readonly deliver?: boolean;
  readonly httpHost?: string;
  readonly httpPort?: number;
  readonly leaseSeconds?: number;
  readonly nodeLeaseSeconds?: number;
  readonly graceSeconds?: number;
  readonly patientIdSystem?: string;
  /** Where this worker reads shared-store studies (ADR 0187), dicomweb+http://…/dicom-web. */
  readonly sharedStore?: string;
  /** Where job results go (ADR 0193): `database`, or `folder`; default by --shared-store. */
  readonly results?: string;
}

/**
 * Where a worker keeps a job's result files (ADR 0193): in its data folder, shared with the
 * senders and the ingest nodes (`folder`), or in the shared database (`database`, the data
 * folder then private to the worker).
 */
export type ResultsPlace = 'folder' | 'database';

export interface WorkerConfig {
  readonly cluster: ClusterConfig;
  /**
   * Where results are written (`<data>/results/<job id>`): shared with the senders and the
   * ingest nodes when `results` is `folder`; private to this worker when `database`.
   */
  readonly dataDir: string;
  readonly results: ResultsPlace;
  readonly modelsDir: string;
  readonly workers: number;
  readonly threads: number | null;
  readonly destinations: readonly { readonly spec: string; readonly destination: Destination }[];
  readonly deliver: boolean;
  readonly httpHost: string;
  readonly httpPort: number;
  readonly leaseSeconds: number;
  readonly shutdownGraceSeconds: number;
  readonly stuckJobSeconds: number;
  readonly patientIdSystem: string | null;
  /** Where shared-store studies are read, with credentials (ADR 0187); null: where jobs say. */
  readonly sharedStore: SharedStore | null;
}

export const WORKER_DEFAULTS = {
  workers: 1,
  httpHost: '127.0.0.1',
  httpPort: 8081,
  stuckJobSeconds: 3600,
} as const;

/** Validates the flags; E_BAD_INPUT lists every problem. */
export function loadWorkerConfig(flags: WorkerFlags, defaultModelsDir: string): WorkerConfig {
  const problems: string[] = [];
  const whole = (name: string, value: number | undefined, min: number, max: number): void => {
    if (value !== undefined && !(Number.isInteger(value) && value >= min && value <= max)) {
      problems.push(`  ${name}: a whole number from ${min} to ${max}`);
    }
  };
  const positive = (name: string, value: number | undefined): void => {
    if (value !== undefined && !(Number.isFinite(value) && value >= 1)) {
      problems.push(`  ${name}: seconds, at least 1`);
    }
  };
  whole('--workers', flags.workers, 1, 64);
  whole('--threads', flags.threads, 1, 256);
  whole('--http-port', flags.httpPort, 0, 65535);
  positive('--lease', flags.leaseSeconds);
  positive('--node-lease', flags.nodeLeaseSeconds);
  positive('--grace', flags.graceSeconds);
  if (flags.httpHost !== undefined && isIP(flags.httpHost) === 0) {
    problems.push('  --http-host: the IP address /health listens on, e.g. 127.0.0.1');
  }
  if (flags.data === undefined) {
    problems.push('  --data: the data folder where results are written (required)');
  }
  if (flags.results !== undefined && flags.results !== 'folder' && flags.results !== 'database') {
    problems.push(
      '  --results: folder (the --data folder, shared with every sender and ingest node) or database (the shared database; --data private to this worker)',
    );
  }
  if (flags.patientIdSystem !== undefined && !isAbsoluteUri(flags.patientIdSystem)) {
    problems.push('  --patient-id-system: an absolute URI, e.g. urn:oid:1.2.3.4');
  }
  const destinations: { spec: string; destination: Destination }[] = [];
  for (const spec of flags.sendTo ?? []) {
    try {
      destinations.push({ spec, destination: parseDestination(spec) });
    } catch (error) {
      problems.push(`  --send-to ${spec}: ${(error as Error).message}`);
    }
  }
  let cluster: ClusterConfig | null = null;
  try {
    cluster = clusterConfigOf(
      {
        ...(flags.database === undefined ? {} : { database: flags.database }),
        ...(flags.nodeId === undefined ? {} : { nodeId: flags.nodeId }),
        ...(flags.nodeLeaseSeconds === undefined
          ? {}
          : { nodeLeaseSeconds: flags.nodeLeaseSeconds }),
      },
      'worker',
    );
  } catch (error) {
    problems.push(`  ${(error as Error).message}`);
  }
  if (cluster === null && problems.length === 0) {
    problems.push(`  --database: the shared PostgreSQL database (or set ${DATABASE_URL_ENV})`);
  }
  if (flags.nodeId !== undefined && !/^[A-Za-z0-9][A-Za-z0-9._:@-]{0,127}$/.test(flags.nodeId)) {
    problems.push('  --node-id: 1–128 letters, digits and . _ : @ - (unique in the cluster)');
  }
  let sharedStore: SharedStore | null = null;
  try {
    sharedStore = sharedStoreOf(flags.sharedStore, cluster);
  } catch (error) {
    if (cluster !== null) problems.push(`  --shared-store: ${(error as Error).message}`);
  }
  if (problems.length > 0 || cluster === null) {
    throw new RadiolensError(
      'E_BAD_INPUT',
      `problems in the command-line flags:\n${problems.join('\n')}`,
    );
  }
  return {
    cluster,
    dataDir: resolve(flags.data!),
    modelsDir: flags.modelsDir === undefined ? defaultModelsDir : resolve(flags.modelsDir),
    workers: flags.workers ?? WORKER_DEFAULTS.workers,
    threads: flags.threads ?? null,
    destinations,
    deliver: flags.deliver ?? true,
    httpHost: flags.httpHost ?? WORKER_DEFAULTS.httpHost,
    httpPort: flags.httpPort ?? WORKER_DEFAULTS.httpPort,
    leaseSeconds: flags.leaseSeconds ?? DEFAULTS.leaseSeconds,
    shutdownGraceSeconds: flags.graceSeconds ?? DEFAULTS.shutdownGraceSeconds,
    stuckJobSeconds: WORKER_DEFAULTS.stuckJobSeconds,
    patientIdSystem: flags.patientIdSystem ?? null,
    sharedStore,
    // With the shared DICOM store there is no shared folder to keep results in (ADR 0193).
    results:
      flags.results === 'folder' || flags.results === 'database'
        ? flags.results
        : sharedStore === null
          ? 'folder'
          : 'database',
  };
}
