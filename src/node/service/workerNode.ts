/**
 * `radiolens worker` (issue #17, ADR 0184): a process that takes analysis jobs from the shared
 * PostgreSQL queue, runs them with the node's own worker code (JobWorker), puts the outputs
 * into the shared outbox and, unless told not to, sends what the outbox holds. It holds a node
 * lease (role `worker`), answers /health on a small HTTP listener, and drains on stop: no new
 * claims, a running job finishes within the grace period or is given back, sends in flight
 * finish, the lease is released.
 */
import { createServer, type Server } from 'node:http';
import { mkdirSync } from 'node:fs';
import { availableParallelism, hostname } from 'node:os';
import { join } from 'node:path';
import { AnalysisThread } from '../../inference/analysis/index.js';
import { ModelRegistry } from '../../inference/models/index.js';
import { OutboxDeliverer } from '../delivery/index.js';
import { ClusterMember } from '../postgres/index.js';
import { sharedStoreLabel } from '../sharedStore/index.js';
import { clusterHealth, logClusterEvent, type HealthCondition } from './service.js';
import type { WorkerConfig } from './workerConfig.js';
import { JobWorker, TEST_DELAY_ENV, testDelayMs } from './worker.js';
import { createLogger, scrub, type NodeLogger } from './log.js';

export interface WorkerHealth {
  readonly status: 'ok' | 'degraded' | 'unavailable';
  readonly role: 'worker';
  readonly version: string;
  readonly uptimeSeconds: number;
  readonly stopping: boolean;
  readonly conditions: readonly { condition: string; detail: string }[];
  readonly jobs: readonly { worker: string; job: number; seconds: number }[];
  readonly [field: string]: unknown;
}

export class RadiolensWorker {
  private stopping: Promise<void> | undefined;
  private readonly startedAt = Date.now();

  private constructor(
    readonly config: WorkerConfig,
    readonly httpPort: number,
    private readonly parts: {
      readonly cluster: ClusterMember;
      readonly workers: readonly JobWorker[];
      readonly deliverer: OutboxDeliverer | null;
      readonly analysisThreads: readonly AnalysisThread[];
      readonly http: Server;
    },
    private readonly logger: NodeLogger,
    private readonly version: string,
  ) {}

  static async start(
    config: WorkerConfig,
    options: { logger?: NodeLogger; version?: string; onLeaseLost?: () => void } = {},
  ): Promise<RadiolensWorker> {
    const logger = options.logger ?? createLogger();
    const version = options.version ?? '0.0.0';
    mkdirSync(join(config.dataDir, 'results'), { recursive: true, mode: 0o700 });
    const registry = new ModelRegistry(config.modelsDir);
    const holder: { worker?: RadiolensWorker } = {};
    const cluster = await ClusterMember.start({
      databaseUrl: config.cluster.databaseUrl,
      nodeId: config.cluster.nodeId,
      role: 'worker',
      nodeLeaseMs: config.cluster.nodeLeaseSeconds * 1000,
      jobLeaseMs: config.leaseSeconds * 1000,
      // A claim, the jobs running, the sends and /health's beat.
      maxConnections: config.workers + 6,
      onEvent: (event) => logClusterEvent(logger, event),
      onLeaseLost: () => {
        // Another process holds our id: this one's claims are void. Stop, and let the
        // supervisor start it again under a fresh lease.
        logger.error('node-lease-lost', { nodeId: config.cluster.nodeId });
        void holder.worker?.stop().finally(() => options.onLeaseLost?.());
      },
    });
    // Each job worker analyses in a thread of its own (ADR 0128): the event loop keeps the
    // node lease beating and /health answering however long an analysis runs, and two job
    // workers use two cores for our own work, not one event loop between them.
    const analysisThreads = Array.from(
      { length: config.workers },
      () =>
        new AnalysisThread({
          registryRoot: config.modelsDir,
          intraOpThreads: config.threads ?? Math.max(1, availableParallelism()),
        }),
    );
    const closeThreads = (): Promise<unknown> =>
      Promise.all(analysisThreads.map((thread) => thread.close()));
    let http: Server | undefined;
    try {
      const deliverer = config.deliver
        ? new OutboxDeliverer(cluster.outbox, {
            callingAeTitle: 'RADIOLENS',
            mayClaim: () => cluster.leaseHeld(),
            resultFiles: cluster.resultFiles,
            onEvent: (event) => {
              const { type, ...rest } = event;
              const level = type === 'delivered' ? 'info' : type === 'retry' ? 'warn' : 'error';
              logger.log(level, `delivery-${type}`, rest);
            },
          })
        : null;
      const workers = Array.from(
        { length: config.workers },
        (_, i) =>
          new JobWorker(`${config.cluster.nodeId}:${hostname()}:${process.pid}:${i}`, {
            queue: cluster.queue,
            outbox: cluster.outbox,
            registry,
            analysis: { thread: analysisThreads[i]! },
            destinations: config.destinations.map((d) => d.destination),
            dataDir: config.dataDir,
            logger,
            leaseMs: config.leaseSeconds * 1000,
            ...(config.patientIdSystem === null ? {} : { patientIdSystem: config.patientIdSystem }),
            onOutputsQueued: () => deliverer?.kick(),
            mayClaim: () => cluster.leaseHeld(),
            ...(config.sharedStore === null ? {} : { sharedStore: config.sharedStore }),
            ...(config.results === 'database' ? { resultFiles: cluster.resultFiles } : {}),
          }),
      );
      http = createServer((req, res) => {
        const path = (req.url ?? '/').split('?')[0];
        if (path !== '/health' || (req.method !== 'GET' && req.method !== 'HEAD')) {
          res.writeHead(404, { 'content-type': 'application/json' });
          res.end(JSON.stringify({ error: 'only GET /health here' }));
          return;
        }
        const report = holder.worker?.health() ?? { status: 'unavailable', starting: true };
        const body = JSON.stringify(report);
        res.writeHead(report.status === 'unavailable' ? 503 : 200, {
          'content-type': 'application/json',
          'cache-control': 'no-store',
        });
        res.end(req.method === 'HEAD' ? undefined : body);
      });
      const server = http;
      const port = await new Promise<number>((resolve, reject) => {
        server.once('error', reject);
        server.listen(config.httpPort, config.httpHost, () => {
          const address = server.address();
          resolve(typeof address === 'object' && address !== null ? address.port : 0);
        });
      });
      const worker = new RadiolensWorker(
        config,
        port,
        { cluster, workers, deliverer, analysisThreads, http: server },
        logger,
        version,
      );
      holder.worker = worker;
      for (const w of workers) w.start();
      deliverer?.start();
      if (testDelayMs() > 0) {
        logger.warn('test-hook-active', { env: TEST_DELAY_ENV, ms: testDelayMs() });
      }
      logger.info('worker-started', {
        nodeId: config.cluster.nodeId,
        database: cluster.snapshot().database,
        workers: config.workers,
        threads: config.threads ?? availableParallelism(),
        deliver: config.deliver,
        destinations: config.destinations.length,
        sharedStore: config.sharedStore === null ? null : sharedStoreLabel(config.sharedStore),
        results: config.results,
        health: `http://${config.httpHost}:${port}/health`,
      });
      return worker;
    } catch (error) {
      http?.close();
      await closeThreads().catch(() => undefined);
      await cluster.stop();
      throw error;
    }
  }

  /** /health: lease lost → unavailable (503); database unreachable or a stuck job → degraded. */
  health(): WorkerHealth {
    const conditions: (HealthCondition & { blocksWork?: boolean })[] = [];
    const cluster = clusterHealth(this.parts.cluster);
    conditions.push(...cluster.conditions);
    const jobs: { worker: string; job: number; seconds: number }[] = [];
    for (const worker of this.parts.workers) {
      const job = worker.currentJob();
      if (job === undefined) continue;
      const seconds = Math.round((Date.now() - job.since) / 1000);
      jobs.push({ worker: worker.id, job: job.id, seconds });
      if (seconds > this.config.stuckJobSeconds) {
        conditions.push({
          condition: 'job-stuck',
          blocksIngest: false,
          detail: `job ${job.id} has run ${seconds} s, more than ${this.config.stuckJobSeconds} s`,
        });
      }
    }
    conditions.push(...waitingConditions(this.parts.workers));
    const leaseLost = this.parts.cluster.snapshot().leaseLost;
    return {
      status: leaseLost ? 'unavailable' : conditions.length > 0 ? 'degraded' : 'ok',
      role: 'worker',
      version: this.version,
      uptimeSeconds: Math.round((Date.now() - this.startedAt) / 1000),
      stopping: this.stopping !== undefined,
      conditions: conditions.map(({ condition, detail }) => ({
        condition,
        detail: scrub(detail),
      })),
      jobs,
      workers: this.parts.workers.length,
      delivering: this.parts.deliverer !== null,
      ...cluster.fields,
    };
  }

  /** Graceful drain; calling it again returns the same promise. */
  stop(): Promise<void> {
    this.stopping ??= this.drain();
    return this.stopping;
  }

  private async drain(): Promise<void> {
    const graceMs = this.config.shutdownGraceSeconds * 1000;
    const { cluster, workers, deliverer, analysisThreads, http } = this.parts;
    this.logger.info('worker-stopping', { graceSeconds: this.config.shutdownGraceSeconds });
    // No new claims; a running job finishes within the grace period or is given back.
    await Promise.all(workers.map((worker) => worker.stop(graceMs)));
    await deliverer?.stop();
    await Promise.all(analysisThreads.map((thread) => thread.close()));
    const counts = cluster.snapshot();
    // The lease last: anything still held under this node id is given back at once.
    await cluster.stop();
    await new Promise<void>((resolve) => {
      http.close(() => resolve());
      http.closeAllConnections();
    });
    this.logger.info('worker-stopped', {
      nodeId: this.config.cluster.nodeId,
      queued: counts.queue?.queued ?? null,
      outboxPending: counts.outbox?.pending ?? null,
    });
  }
}

/** What a worker thread says of trouble that makes its jobs wait (worker.ts). */
type WaitingTrouble = Pick<JobWorker, 'localDiskTrouble' | 'sharedStoreTrouble'>;

/**
 * /health conditions for trouble that makes jobs wait and run again, losing none — this host's
 * disk full (ADR 0193), the shared store away (ADR 0187) — one per kind, from the first worker
 * thread that has it. They degrade the worker; they never block ingest.
 */
export function waitingConditions(workers: readonly WaitingTrouble[]): HealthCondition[] {
  const kinds = [
    ['disk-full', (worker: WaitingTrouble) => worker.localDiskTrouble()],
    ['shared-store-unreachable', (worker: WaitingTrouble) => worker.sharedStoreTrouble()],
  ] as const;
  const conditions: HealthCondition[] = [];
  for (const [condition, troubleOf] of kinds) {
    const trouble = workers.map(troubleOf).find((t) => t !== undefined);
    if (trouble !== undefined) {
      conditions.push({
        condition,
        blocksIngest: false,
        detail: `since ${new Date(trouble.since).toISOString()}: ${trouble.error}`,
      });
    }
  }
  return conditions;
}
