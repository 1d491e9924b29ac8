/**
 * RadiolensNode: the long-running DICOM node (issue #3; ADR 0114). One process, one SQLite
 * file: ingest (DIMSE SCP, STOW-RS, watched folder) → durable store → stability timer →
 * routing → job queue → workers → outbox → deliverer. `stop()` is the graceful shutdown:
 * stop accepting, let stores in progress finish, let a running job finish within the grace
 * period or give its lease back, stop the deliverer, close the database.
 */
import { mkdirSync } from 'node:fs';
import { availableParallelism, hostname } from 'node:os';
import { join } from 'node:path';
import { ModelSessions } from '../../inference/analysis/index.js';
import { describeError } from '../../foundation/core/index.js';
import { Outbox, OutboxDeliverer } from '../delivery/index.js';
import { DicomStorageScp, type ScpEvent } from '../ingest/dimse/index.js';
import { createStowRsHandler } from '../ingest/stow/index.js';
import { WatchedFolder } from '../ingest/watch/index.js';
import { InferencePool, ModelRegistry } from '../../inference/models/index.js';
import { JobQueue } from '../queue/index.js';
import {
  InstanceStore,
  StudyStabilityTimer,
  openNodeDatabase,
  type NodeDatabase,
} from '../store/index.js';
import type { NodeConfig } from './config.js';
import { NodeHttpServer, type HealthReport } from './http.js';
import { StudyJobScheduler } from './jobs.js';
import { createLogger, scrub, type LogFields, type NodeLogger } from './log.js';
import { JobWorker, TEST_DELAY_ENV, testDelayMs } from './worker.js';
import { acquireDataDirLock, type DataDirLock } from './dataDirLock.js';
import { AnalysisLog } from './analysisLog.js';
import { DriftSchedule, type DriftCheck } from './driftSchedule.js';

export interface NodeStartOptions {
  readonly logger?: NodeLogger;
  /** Reported by /health. */
  readonly version?: string;
  /**
   * The drift check the node runs on its schedule (ADR 0087); `radiolens serve` composes it
   * from lifecycle/monitoring, which the node may not import. None: no scheduled monitor.
   */
  readonly driftCheck?: DriftCheck;
}

export interface NodeListeners {
  readonly dicom: { readonly aeTitle: string; readonly host: string; readonly port: number };
  readonly http: { readonly host: string; readonly port: number };
  readonly watchFolder: string | null;
}

/** Turns an event object into log fields: strings scrubbed of UIDs, objects flattened to JSON. */
function eventFields(event: object): LogFields {
  const fields: Record<string, string | number | boolean | null> = {};
  for (const [name, value] of Object.entries(event)) {
    if (value === undefined) continue;
    if (typeof value === 'number' || typeof value === 'boolean' || value === null) {
      fields[name] = value;
    } else fields[name] = scrub(typeof value === 'string' ? value : JSON.stringify(value));
  }
  return fields;
}

function logScpEvent(logger: NodeLogger, event: ScpEvent): void {
  const { type, ...rest } = event;
  const level =
    type === 'association-rejected' || type === 'association-aborted' || type === 'store-failed'
      ? 'warn'
      : 'info';
  logger.log(level, `dimse-${type}`, eventFields(rest));
}

/** Something that must be undone when start fails half-way or the node stops. */
type Closer = () => Promise<void> | void;

export class RadiolensNode {
  private stopping: Promise<void> | undefined;
  private readonly startedAt = Date.now();

  private constructor(
    readonly config: NodeConfig,
    readonly listeners: NodeListeners,
    private readonly parts: {
      readonly db: NodeDatabase;
      readonly queue: JobQueue;
      readonly outbox: Outbox;
      readonly scheduler: StudyJobScheduler;
      readonly scp: DicomStorageScp;
      readonly http: NodeHttpServer;
      readonly watcher: WatchedFolder | null;
      readonly timer: StudyStabilityTimer;
      readonly workers: readonly JobWorker[];
      readonly deliverer: OutboxDeliverer;
      readonly sessions: ModelSessions;
      readonly pool: InferencePool;
      readonly lock: DataDirLock;
      readonly drift: DriftSchedule | null;
    },
    private readonly logger: NodeLogger,
    private readonly version: string,
  ) {}

  static async start(config: NodeConfig, options: NodeStartOptions = {}): Promise<RadiolensNode> {
    const logger = options.logger ?? createLogger();
    const closers: Closer[] = [];
    const undo = async (): Promise<void> => {
      for (const close of closers.reverse()) {
        try {
          await close();
        } catch {
          // Best effort: the start error is the one to report.
        }
      }
    };
    try {
      // The lock first: it proves no other node uses the directory (ADR 0116). Then the
      // database, whose error says what is wrong with the data directory.
      mkdirSync(config.dataDir, { recursive: true });
      const lock = acquireDataDirLock(config.dataDir);
      closers.push(() => lock.release());
      const db = openNodeDatabase(config.dataDir);
      closers.push(() => {
        db.close();
      });
      mkdirSync(join(config.dataDir, 'results'), { recursive: true });
      const store = InstanceStore.onDatabase(config.dataDir, db);
      const queue = new JobQueue(db, { leaseMs: config.leaseSeconds * 1000 });
      const { retryFirstSeconds, retryMaxSeconds, claimSeconds } = config.delivery;
      const outbox = new Outbox(db, {
        ...(retryFirstSeconds !== undefined ? { backoffBaseMs: retryFirstSeconds * 1000 } : {}),
        ...(retryMaxSeconds !== undefined ? { backoffMaxMs: retryMaxSeconds * 1000 } : {}),
        ...(claimSeconds !== undefined ? { claimMs: claimSeconds * 1000 } : {}),
      });
      // Leases and claims found now belong to a predecessor that died: expire them, so its
      // job and sends resume at once instead of after their timeouts.
      const expiredLeases = queue.expireAllLeases();
      const expiredClaims = outbox.expireAllClaims();
      if (lock.tookOverStaleLock || expiredLeases > 0 || expiredClaims > 0) {
        logger.warn('recovered-after-crash', {
          staleLock: lock.tookOverStaleLock,
          jobsResumed: expiredLeases,
          sendsResumed: expiredClaims,
        });
      }
      const registry = new ModelRegistry(config.modelsDir);
      // Models run in worker threads, never on the event loop that answers C-STORE; and
      // onnxruntime leaves one core to ingest, so an analysis never starves it (ADR 0121).
      const pool = new InferencePool({
        intraOpThreads: Math.max(1, availableParallelism() - 1),
      });
      const sessions = new ModelSessions({ pool });
      closers.push(async () => {
        await sessions.dispose();
        await pool.close();
      });

      const deliverer = new OutboxDeliverer(outbox, {
        callingAeTitle: config.aeTitle,
        onEvent: (event) => {
          const { type, ...rest } = event;
          const level = type === 'delivered' ? 'info' : type === 'retry' ? 'warn' : 'error';
          logger.log(level, `delivery-${type}`, eventFields(rest));
        },
      });
      const holder: { node?: RadiolensNode } = {};
      const workers: JobWorker[] = [];
      const analysisLog = new AnalysisLog(db);
      const scheduler = new StudyJobScheduler(store, queue, registry, {
        routes: config.routes,
        defaultModels: config.models,
        defaultShadow: config.shadowModels,
        logger,
        onEnqueued: () => workers.forEach((worker) => worker.kick()),
      });
      await scheduler.prepare();
      for (let i = 0; i < config.workers; i++) {
        workers.push(
          new JobWorker(`${hostname()}:${process.pid}:${i}`, {
            store,
            queue,
            outbox,
            registry,
            sessions,
            destinations: config.destinations.map((d) => d.destination),
            dataDir: config.dataDir,
            logger,
            leaseMs: config.leaseSeconds * 1000,
            ...(config.patientIdSystem === null ? {} : { patientIdSystem: config.patientIdSystem }),
            onOutputsQueued: () => deliverer.kick(),
            analysisLog,
          }),
        );
      }

      const scp = await DicomStorageScp.start(store, {
        aeTitle: config.aeTitle,
        port: config.dicomPort,
        host: config.host,
        allowedCallers: config.allowedCallers,
        onEvent: (event) => logScpEvent(logger, event),
      });
      closers.push(() => scp.stop(0));
      const http = await NodeHttpServer.start({
        host: config.host,
        port: config.httpPort,
        stow: createStowRsHandler(store, {
          onEvent: (event) => {
            const { type, ...rest } = event;
            const level = type === 'stored' || type === 'request-completed' ? 'info' : 'warn';
            logger.log(level, `stow-${type}`, eventFields(rest));
          },
        }),
        logger,
        // The node exists once every part has started; until then it is not ready.
        health: () => holder.node?.health() ?? { status: 'unavailable', starting: true },
      });
      closers.push(() => http.stop(0));
      let watcher: WatchedFolder | null = null;
      if (config.watchFolder !== null) {
        watcher = new WatchedFolder(store, config.watchFolder, {
          onEvent: (event) => {
            const { type, ...rest } = event;
            logger.log(type === 'stored' ? 'info' : 'warn', `watch-${type}`, eventFields(rest));
          },
        });
        watcher.start();
        const started = watcher;
        closers.push(() => started.stop());
      }

      const timer = new StudyStabilityTimer(store, {
        quietPeriodMs: config.quietPeriodSeconds * 1000,
      });
      timer.start(scheduler.onStable, (error) =>
        logger.error('stability-check-failed', { error: scrub(describeError(error)) }),
      );
      closers.push(() => timer.stop());
      for (const worker of workers) worker.start();
      deliverer.start();
      let drift: DriftSchedule | null = null;
      if (config.monitoring !== null && options.driftCheck !== undefined) {
        drift = new DriftSchedule({
          check: options.driftCheck,
          intervalMs: config.monitoring.intervalMinutes * 60_000,
          persistence: config.monitoring.persistence,
          webhook: config.monitoring.webhook,
          logger,
        });
        drift.start();
        const started = drift;
        closers.push(() => started.stop());
      }

      const listeners: NodeListeners = {
        dicom: { aeTitle: config.aeTitle, host: config.host, port: scp.port },
        http: { host: config.host, port: http.port },
        watchFolder: config.watchFolder,
      };
      const node = new RadiolensNode(
        config,
        listeners,
        {
          db,
          queue,
          outbox,
          scheduler,
          scp,
          http,
          watcher,
          timer,
          workers,
          deliverer,
          sessions,
          pool,
          lock,
          drift,
        },
        logger,
        options.version ?? '0.0.0',
      );
      holder.node = node;
      if (testDelayMs() > 0) {
        logger.warn('test-hook-active', { env: TEST_DELAY_ENV, ms: testDelayMs() });
      }
      logger.info('node-started', {
        aeTitle: config.aeTitle,
        host: config.host,
        dicomPort: scp.port,
        httpPort: http.port,
        watchFolder: config.watchFolder,
        workers: config.workers,
        destinations: config.destinations.length,
        routes: config.routes.length,
        shadowModels: config.shadowModels.length,
        driftMonitor: drift === null ? 'off' : `every ${config.monitoring!.intervalMinutes} min`,
      });
      return node;
    } catch (error) {
      await undo();
      throw error;
    }
  }

  /** The /health report: 'unavailable' (HTTP 503) when the database cannot be read. */
  health(): HealthReport {
    const base = {
      version: this.version,
      uptimeSeconds: Math.round((Date.now() - this.startedAt) / 1000),
      stopping: this.stopping !== undefined,
      listeners: this.listeners,
    };
    try {
      this.parts.db.prepare('SELECT 1').get();
      return {
        status: 'ok',
        ...base,
        queue: this.parts.queue.counts(),
        outbox: this.parts.outbox.counts(),
        notRouted: this.parts.scheduler.notRoutedCount(),
        workers: this.parts.workers.length,
        monitoring: this.parts.drift?.health() ?? null,
      };
    } catch (error) {
      return { status: 'unavailable', ...base, error: scrub(describeError(error)) };
    }
  }

  /**
   * Run the scheduled drift check now (an operator's "check again", and tests); a no-op when
   * the node has no drift monitor.
   */
  async checkDriftNow(): Promise<void> {
    await this.parts.drift?.runNow();
  }

  /** Graceful shutdown; calling it again returns the same promise. */
  stop(): Promise<void> {
    this.stopping ??= this.shutdown();
    return this.stopping;
  }

  private async shutdown(): Promise<void> {
    const graceMs = this.config.shutdownGraceSeconds * 1000;
    const { scp, http, watcher, timer, workers, deliverer, sessions, pool, db, lock, drift } =
      this.parts;
    this.logger.info('node-stopping', { graceSeconds: this.config.shutdownGraceSeconds });
    // 1. Stop accepting; stores already in progress are finished and acknowledged.
    await Promise.all([scp.stop(graceMs), http.stop(graceMs), watcher?.stop()]);
    // 2. No new jobs; a running job finishes within the grace period or is re-queued.
    await timer.stop();
    await Promise.all(workers.map((worker) => worker.stop(graceMs)));
    // 3. Sends in flight finish; what is pending stays in the outbox for the next start.
    await deliverer.stop();
    await drift?.stop();
    await sessions.dispose();
    await pool.close();
    const { queue, outbox } = {
      queue: this.parts.queue.counts(),
      outbox: this.parts.outbox.counts(),
    };
    db.close();
    lock.release();
    this.logger.info('node-stopped', {
      queued: queue.queued,
      running: queue.running,
      outboxPending: outbox.pending,
    });
  }
}
