/**
 * RadiolensNode: the long-running DICOM node (issue #3; ADR 0114). One process, one SQLite
 * file: ingest (DIMSE SCP, STOW-RS, watched folder) → durable store → stability timer →
 * routing → job queue → workers → outbox → deliverer. `stop()` is the graceful shutdown:
 * stop accepting, let stores in progress finish, let a running job finish within the grace
 * period or give its lease back, stop the deliverer, close the database.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, statfsSync } from 'node:fs';
import { availableParallelism, hostname } from 'node:os';
import { join } from 'node:path';
import { AnalysisThread } from '../../inference/analysis/index.js';
import { RadiolensError, describeError, isRadiolensError } from '../../foundation/core/index.js';
import { createAuditReadRoutes, createLoginRoutes, principalOf } from '../access/index.js';
import { configureParsingLimits } from '../../foundation/dicom/index.js';
import { Outbox, OutboxDeliverer, type OutboxPort } from '../delivery/index.js';
import { createDicomWebReadRoutes } from '../dicomweb/index.js';
import { createFeedbackRoutes } from '../feedback/index.js';
import { createWebRoutes } from '../web/index.js';
import {
  ClusterFailures,
  WorklistChanges,
  WorklistSource,
  createWorklistRoutes,
} from '../worklist/index.js';
import { ModelCatalog, createModelCatalogRoutes } from '../modelCatalog/index.js';
import { StudyContextSource, createStudyContextRoutes } from '../studyContext/index.js';
import { createOhifRoutes } from '../viewer/index.js';
import { DicomStorageScp, type ScpEvent } from '../ingest/dimse/index.js';
import { embeddedReadingRoom, sharedReadingRoom } from './readingRoomState.js';
import { createStowRsHandler } from '../ingest/stow/index.js';
import { WatchedFolder } from '../ingest/watch/index.js';
import { ModelRegistry } from '../../inference/models/index.js';
import { JobQueue, type JobQueuePort } from '../queue/index.js';
import { ClusterMember, type ClusterEvent } from '../postgres/index.js';
import {
  InstanceStore,
  StudyStabilityTimer,
  openNodeDatabase,
  type NodeDatabase,
} from '../store/index.js';
import type { NodeConfig } from './config.js';
import { DICOMWEB_ROOT, NodeHttpServer, type HealthReport } from './http.js';
import { describeHttpAccess } from './httpAccess.js';
import { StudyJobScheduler } from './jobs.js';
import { routesUsingModel } from './routing.js';
import { RateLimitedLog, createLogger, scrub, type LogFields, type NodeLogger } from './log.js';
import { JobWorker, TEST_DELAY_ENV, testDelayMs } from './worker.js';
import { acquireDataDirLock, type DataDirLock } from './dataDirLock.js';
import { secureDataDir } from './dataDirPrivacy.js';
import { AnalysisLog } from './analysisLog.js';
import { ClusterResults } from './clusterResults.js';
import { RetentionSchedule, clusterPrune, embeddedPrune } from './retention.js';
import {
  StudyAssembly,
  missedResults,
  recordResultsRead,
  recordedResultsRead,
} from '../postgres/index.js';
import { StudyPartReports } from './studyParts.js';
import { DriftSchedule, type DriftCheck } from './driftSchedule.js';

/** The analysis thread yields the CPU to ingest when both want it (ADR 0128). */
const ANALYSIS_NICENESS = 10;

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
    type === 'association-error'
      ? 'error'
      : type === 'association-rejected' ||
          type === 'association-aborted' ||
          type === 'association-refused' ||
          type === 'store-failed'
        ? 'warn'
        : 'info';
  logger.log(level, `dimse-${type}`, eventFields(rest));
}

function describeCallers(callers: NodeConfig['allowedCallers']): string {
  if (callers.length === 0) return 'nobody';
  return callers
    .map((c) => `${c.aeTitle}@${c.addresses?.length ? c.addresses.join('|') : 'any address'}`)
    .join(', ');
}

/** Repeating failure conditions are logged at most once per this interval (ADR 0133). */
const REPEATED_CONDITION_LOG_MS = 60_000;

export interface HealthCondition {
  readonly condition: string;
  /** Whether ingest cannot accept while it lasts (then /health answers 503). */
  readonly blocksIngest: boolean;
  readonly detail: string;
}

/** Free and total bytes of the file system holding `dir`, or undefined when it cannot be read. */
function freeSpace(dir: string): { freeBytes: number; totalBytes: number } | undefined {
  try {
    const stats = statfsSync(dir);
    return { freeBytes: stats.bavail * stats.bsize, totalBytes: stats.blocks * stats.bsize };
  } catch {
    return undefined;
  }
}

/** The PEM files of --tls-cert/--tls-key, read once at start. */
function readTls(files: { certFile: string; keyFile: string }): { cert: Buffer; key: Buffer } {
  const read = (path: string, what: string): Buffer => {
    try {
      return readFileSync(path);
    } catch (cause) {
      throw new RadiolensError(
        'E_BAD_INPUT',
        `cannot read the TLS ${what} ${path}: ${(cause as Error).message} — give a readable PEM file to --tls-${what === 'certificate' ? 'cert' : 'key'}`,
        { subject: path, cause },
      );
    }
  };
  return { cert: read(files.certFile, 'certificate'), key: read(files.keyFile, 'key') };
}

/** The outbox's retry backoff and claim from the config (seconds) in milliseconds. */
function outboxOptionsOf(delivery: NodeConfig['delivery']): {
  backoffBaseMs?: number;
  backoffMaxMs?: number;
  claimMs?: number;
} {
  const { retryFirstSeconds, retryMaxSeconds, claimSeconds } = delivery;
  return {
    ...(retryFirstSeconds !== undefined ? { backoffBaseMs: retryFirstSeconds * 1000 } : {}),
    ...(retryMaxSeconds !== undefined ? { backoffMaxMs: retryMaxSeconds * 1000 } : {}),
    ...(claimSeconds !== undefined ? { claimMs: claimSeconds * 1000 } : {}),
  };
}

/** A cluster event as a log record; the database URL in it has no password (redactUrl). */
export function logClusterEvent(logger: NodeLogger, event: ClusterEvent): void {
  const { type, ...rest } = event;
  const level =
    type === 'lease-lost' || type === 'beat-failed'
      ? 'error'
      : type === 'reclaimed'
        ? 'warn'
        : 'info';
  logger.log(level, `cluster-${type}`, eventFields(rest));
}

/**
 * /health's view of the shared database (ADR 0183), from the membership's last beat: a lost
 * lease or an unreachable database degrade the node but do not block ingest, since stored
 * instances wait in the local index and are enqueued once the database answers.
 */
export function clusterHealth(member: ClusterMember): {
  conditions: HealthCondition[];
  fields: Record<string, unknown>;
} {
  const snapshot = member.snapshot();
  const conditions: HealthCondition[] = [];
  if (snapshot.leaseLost) {
    conditions.push({
      condition: 'node-lease-lost',
      blocksIngest: false,
      detail: `another process holds node id ${snapshot.nodeId}; this one no longer analyses or sends — restart it with its own --node-id`,
    });
  } else if (snapshot.error !== null) {
    conditions.push({
      condition: 'database-unreachable',
      blocksIngest: false,
      detail: `${scrub(snapshot.error)} (last answer ${snapshot.lastBeatAt === null ? 'never' : new Date(snapshot.lastBeatAt).toISOString()})`,
    });
  }
  return {
    conditions,
    fields: {
      cluster: {
        nodeId: snapshot.nodeId,
        role: snapshot.role,
        database: snapshot.database,
        lastBeatAt: snapshot.lastBeatAt,
      },
      queue: snapshot.queue,
      outbox: snapshot.outbox,
    },
  };
}

/** Something that must be undone when start fails half-way or the node stops. */
type Closer = () => Promise<void> | void;

export class RadiolensNode {
  private stopping: Promise<void> | undefined;
  private readonly startedAt = Date.now();
  private stabilityFailure:
    { since: number; last: number; count: number; error: string } | undefined;

  private constructor(
    readonly config: NodeConfig,
    readonly listeners: NodeListeners,
    private readonly parts: {
      readonly db: NodeDatabase;
      /** The embedded queue and outbox, or null on a shared database (then `cluster`). */
      readonly queue: JobQueue | null;
      readonly outbox: Outbox | null;
      readonly cluster: ClusterMember | null;
      readonly scheduler: StudyJobScheduler;
      readonly scp: DicomStorageScp;
      readonly http: NodeHttpServer;
      readonly watcher: WatchedFolder | null;
      readonly timer: StudyStabilityTimer;
      readonly workers: readonly JobWorker[];
      readonly deliverer: OutboxDeliverer;
      readonly analysisThreads: readonly AnalysisThread[];
      readonly lock: DataDirLock;
      readonly drift: DriftSchedule | null;
      /** On a shared database: the analyses worker processes ran on this node's studies. */
      readonly clusterResults: ClusterResults | null;
      /** Prunes finished jobs and delivered entries (ADR 0189). */
      readonly retention: RetentionSchedule;
    },
    private readonly logger: NodeLogger,
    private readonly version: string,
  ) {}

  static async start(config: NodeConfig, options: NodeStartOptions = {}): Promise<RadiolensNode> {
    const logger = options.logger ?? createLogger();
    // Every reader in this process (C-STORE, STOW-RS, the watched folder, workers) reads
    // within these (ADR 0123).
    configureParsingLimits(config.parsingLimits);
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
      // Private before anything is written into it (ADR 0135).
      secureDataDir(config.dataDir, config.storage, logger);
      const lock = acquireDataDirLock(config.dataDir);
      closers.push(() => lock.release());
      const db = openNodeDatabase(config.dataDir);
      closers.push(() => {
        db.close();
      });
      mkdirSync(join(config.dataDir, 'results'), { recursive: true });
      const store = InstanceStore.onDatabase(config.dataDir, db);
      const outboxOptions = outboxOptionsOf(config.delivery);
      // Issue #17 (ADR 0183): on a shared database the queue, outbox and a node lease live in
      // PostgreSQL; the data directory keeps its lock, which now guards only the local index.
      // Holding it proves nothing about the shared queue, whose stale work the node lease
      // gives back instead.
      let cluster: ClusterMember | null = null;
      let queue: JobQueue | null = null;
      let outbox: Outbox | null = null;
      const holderForLease: { lost?: () => void } = {};
      if (config.cluster !== null) {
        cluster = await ClusterMember.start({
          databaseUrl: config.cluster.databaseUrl,
          nodeId: config.cluster.nodeId,
          role: 'serve',
          nodeLeaseMs: config.cluster.nodeLeaseSeconds * 1000,
          jobLeaseMs: config.leaseSeconds * 1000,
          outbox: outboxOptions,
          onEvent: (event) => logClusterEvent(logger, event),
          onLeaseLost: () => holderForLease.lost?.(),
        });
        const started = cluster;
        closers.push(() => started.stop());
      } else {
        queue = new JobQueue(db, { leaseMs: config.leaseSeconds * 1000 });
        outbox = new Outbox(db, outboxOptions);
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
      }
      const queuePort: JobQueue | JobQueuePort = cluster?.queue ?? queue!;
      const outboxPort: Outbox | OutboxPort = cluster?.outbox ?? outbox!;
      const registry = new ModelRegistry(config.modelsDir);
      // The whole analysis (decode, model input, heatmaps, encoding — not only the model) runs
      // in a thread of its own per job worker, so none of it holds back a C-STORE
      // acknowledgement (ADR 0128); onnxruntime leaves one core to ingest (ADR 0121).
      const analysisThreads = Array.from(
        { length: config.workers },
        () =>
          new AnalysisThread({
            registryRoot: config.modelsDir,
            intraOpThreads: Math.max(1, availableParallelism() - 1),
            niceness: ANALYSIS_NICENESS,
          }),
      );
      closers.push(async () => {
        await Promise.all(analysisThreads.map((thread) => thread.close()));
      });

      // On a shared database, claim only while this node's lease is fresh (ADR 0183).
      const member = cluster;
      const mayClaim = member === null ? undefined : () => member.leaseHeld();
      const deliverer = new OutboxDeliverer(outboxPort, {
        callingAeTitle: config.aeTitle,
        ...(mayClaim === undefined ? {} : { mayClaim }),
        // Any process sends any entry of a shared outbox, those naming a result file in the
        // database included (ADR 0193).
        ...(member === null ? {} : { resultFiles: member.resultFiles }),
        onEvent: (event) => {
          const { type, ...rest } = event;
          const level = type === 'delivered' ? 'info' : type === 'retry' ? 'warn' : 'error';
          logger.log(level, `delivery-${type}`, eventFields(rest));
        },
      });
      const holder: { node?: RadiolensNode } = {};
      const workers: JobWorker[] = [];
      const analysisLog = new AnalysisLog(db);
      // The worklist's live updates: a notice per settled result and per answer (ADR 0178).
      const worklistChanges = new WorklistChanges();
      // On a shared database a stable study is this node's part of it: one job per study
      // covers every ingest node's part, once none is still arriving (ADR 0192).
      const assembly =
        cluster === null || config.cluster === null
          ? null
          : new StudyAssembly(cluster.pool, { nodeId: config.cluster.nodeId });
      const scheduler = new StudyJobScheduler(store, queuePort, registry, {
        ...(assembly === null ? {} : { assembly }),
        dataDir: config.dataDir,
        routes: config.routes,
        defaultModels: config.models,
        defaultShadow: config.shadowModels,
        logger,
        onEnqueued: () => workers.forEach((worker) => worker.kick()),
        ...(config.sharedStore === null ? {} : { sharedStore: config.sharedStore }),
      });
      await scheduler.prepare();
      for (let i = 0; i < config.workers; i++) {
        workers.push(
          new JobWorker(`${hostname()}:${process.pid}:${i}`, {
            store,
            queue: queuePort,
            outbox: outboxPort,
            registry,
            analysis: { thread: analysisThreads[i]! },
            destinations: config.destinations.map((d) => d.destination),
            dataDir: config.dataDir,
            logger,
            leaseMs: config.leaseSeconds * 1000,
            ...(config.patientIdSystem === null ? {} : { patientIdSystem: config.patientIdSystem }),
            onOutputsQueued: () => deliverer.kick(),
            analysisLog,
            onResult: () => worklistChanges.notify('result'),
            ...(mayClaim === undefined ? {} : { mayClaim }),
            ...(config.sharedStore === null ? {} : { sharedStore: config.sharedStore }),
            // With the shared store there is no shared folder: results of another node's study
            // reach it, and the senders, through the database (ADR 0193).
            ...(member === null || config.sharedStore === null
              ? {}
              : { resultFiles: member.resultFiles }),
          }),
        );
      }

      const scp = await DicomStorageScp.start(store, {
        aeTitle: config.aeTitle,
        port: config.dicomPort,
        host: config.dicomHost,
        allowedCallers: config.allowedCallers,
        limits: config.dicomLimits,
        onEvent: (event) => logScpEvent(logger, event),
      });
      closers.push(() => scp.stop(0));
      // The reading room's access control and audit trail (issue #13; ADRs 0174–0176).
      const tls = config.http.tls === null ? undefined : readTls(config.http.tls);
      // On a shared database users, sessions, answers, the audit chain and the login throttle
      // are the cluster's (ADRs 0188, 0194); otherwise this data directory's (and memory's).
      const {
        audit,
        users,
        sessions: userSessions,
        feedback: feedbackStore,
        loginThrottle,
      } = cluster === null || config.cluster === null
        ? embeddedReadingRoom(db, config.dataDir)
        : await sharedReadingRoom(cluster.pool, config.cluster.databaseUrl);
      const feedbackRoutes = createFeedbackRoutes(feedbackStore, {
        identify: (req) => {
          const principal = principalOf(req);
          return principal?.kind === 'user' ? principal.session.userName : undefined;
        },
        onRecorded: async (answer) => {
          logger.info('feedback-recorded', {
            id: answer.id,
            model: `${answer.model.id}@${answer.model.version}`,
            label: answer.finding.labelId,
            answer: answer.answer,
          });
          await audit.record({
            actor: answer.userId,
            action: 'feedback.answer',
            subject: `study:${answer.studyKey}`,
            details: {
              id: answer.id,
              model: `${answer.model.id}@${answer.model.version}`,
              label: answer.finding.labelId,
              answer: answer.answer,
            },
          });
          worklistChanges.notify('answer');
        },
      });
      const worklistRoutes = createWorklistRoutes({
        entries: (() => {
          const source = new WorklistSource(db, {
            dataDir: config.dataDir,
            studyKeyOf: (uid) => audit.studyKeys.of(uid),
            demoteOnCaveats: config.worklist.demoteOnCaveats,
          });
          return async () => source.entries(await feedbackStore.answered());
        })(),
        budget: config.worklist.alertBudget,
        changes: worklistChanges,
        // A stream ends with its session (logout, expiry, a disabled user), checked without
        // sliding the session's expiry.
        stillAdmitted: (req) => {
          const principal = principalOf(req);
          return principal?.kind !== 'user' || userSessions.isLive(principal.sessionId);
        },
      });
      const auditRoutes = createAuditReadRoutes(audit);
      // The OHIF Viewer at /ohif/ and the reading room's study context and models pages
      // (ADRs 0195–0197).
      const viewer = createOhifRoutes({
        dir: config.viewer.ohifDir,
        dicomWebRoot: DICOMWEB_ROOT,
        tls: tls !== undefined,
        remedy: `install it with "radiolens viewer fetch --data ${config.dataDir}" (or set viewer.ohifDir in the node's configuration), then reload`,
      });
      const studyContextRoutes = createStudyContextRoutes(
        new StudyContextSource(db, {
          dataDir: config.dataDir,
          registry,
          feedback: feedbackStore,
          studyKeyOf: (uid) => audit.studyKeys.of(uid),
          demoteOnCaveats: config.worklist.demoteOnCaveats,
          viewer: {
            available: () => viewer.available(),
            remedy: `radiolens viewer fetch --data ${config.dataDir}`,
          },
        }),
      );
      const modelCatalogRoutes = createModelCatalogRoutes(
        new ModelCatalog({
          registry,
          dataDir: config.dataDir,
          routesUsing: (id, version, active) =>
            routesUsingModel(config.routes, config.models, config.shadowModels, {
              id,
              version,
              active,
            }),
        }),
      );
      const http = await NodeHttpServer.start({
        host: config.httpHost,
        port: config.httpPort,
        access: config.http,
        readingRoom: {
          sessions: userSessions,
          login: createLoginRoutes({
            users,
            sessions: userSessions,
            throttle: loginThrottle,
            audit,
            tls: tls !== undefined,
          }),
        },
        audit,
        web: createWebRoutes(),
        ...(tls === undefined ? {} : { tls }),
        version: options.version ?? '0.0.0',
        stow: createStowRsHandler(store, {
          maxRequestBytes: config.http.maxRequestBytes,
          maxPartBytes: config.http.maxPartBytes,
          onEvent: (event) => {
            const { type, ...rest } = event;
            const level = type === 'stored' || type === 'request-completed' ? 'info' : 'warn';
            logger.log(level, `stow-${type}`, eventFields(rest));
          },
        }),
        dicomWebRead: createDicomWebReadRoutes(store, {
          root: DICOMWEB_ROOT,
          // Which kind of read and its status; study UIDs stay out of the log (ADR 0170).
          onAccess: ({ kind, level, status }) =>
            logger.log(status >= 500 ? 'error' : 'info', 'dicomweb-read', { kind, level, status }),
          onIndexProblem: (_sop, problem) =>
            logger.warn('dicomweb-index-problem', { problem: scrub(problem) }),
        }),
        api: {
          handle: async (req, res, path) =>
            (await feedbackRoutes.handle(req, res, path)) ||
            (await worklistRoutes.handle(req, res, path)) ||
            (await studyContextRoutes.handle(req, res, path)) ||
            (await modelCatalogRoutes.handle(req, res, path)) ||
            (await auditRoutes.handle(req, res, path)),
        },
        viewer,
        logger,
        // The node exists once every part has started; until then it is not ready.
        health: () => holder.node?.health() ?? { status: 'unavailable', starting: true },
      });
      closers.push(() => http.stop(0));
      let watcher: WatchedFolder | null = null;
      if (config.watchFolder !== null) {
        // Our own trouble (disk full) fails every file on every scan: once a minute per code.
        const watchTrouble = new RateLimitedLog(logger, REPEATED_CONDITION_LOG_MS);
        watcher = new WatchedFolder(store, config.watchFolder, {
          onEvent: (event) => {
            const { type, ...rest } = event;
            if (type === 'store-failed' || type === 'scan-failed') {
              watchTrouble.log('warn', `watch-${type}`, eventFields(rest), event.error);
              return;
            }
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
      const parts =
        assembly === null
          ? null
          : new StudyPartReports({
              store,
              timer,
              report: (arriving) => assembly.reportArriving(arriving),
              sweep: () => scheduler.assembleUnfinished(),
              logger,
            });
      parts?.start();
      closers.push(async () => parts?.stop());
      // A failing check repeats every poll (a full disk once logged it 6,400 times a minute):
      // one record a minute with the count, and /health names the condition (ADR 0133).
      const repeated = new RateLimitedLog(logger, REPEATED_CONDITION_LOG_MS);
      timer.start(scheduler.onStable, (error) => {
        holder.node?.noteStabilityFailure(error);
        repeated.log(
          'error',
          'stability-check-failed',
          {
            code: isRadiolensError(error) ? error.code : 'E_UNEXPECTED',
            error: scrub(describeError(error)),
          },
          isRadiolensError(error) ? error.code : 'E_UNEXPECTED',
        );
      });
      closers.push(() => timer.stop());
      // On a shared database, analyses run by worker processes join this node's worklist and
      // viewer (ADR 0186); its own job workers record theirs directly. So do the failed jobs of
      // its studies, and it says how far it has read, which retention waits for (ADR 0189).
      const nodeId = config.cluster?.nodeId ?? '';
      const clusterResults =
        member === null
          ? null
          : new ClusterResults({
              finishedSince: (done, failed, limit) =>
                member.queue.finishedSince(done, failed, limit),
              recordReadTo: (readTo) => recordResultsRead(member.pool, nodeId, readTo),
              missed: () => missedResults(member.pool, nodeId),
              recordedReadTo: () => recordedResultsRead(member.pool, nodeId),
              resultFiles: (jobId) => member.resultFiles.list(jobId),
              failures: new ClusterFailures(db),
              store,
              analysisLog,
              dataDir: config.dataDir,
              logger,
              onResult: () => worklistChanges.notify('result'),
            });
      clusterResults?.start();
      closers.push(async () => clusterResults?.stop());
      const retention = new RetentionSchedule(
        member === null
          ? embeddedPrune(queue!, outbox!, config.retention)
          : clusterPrune(member.pool, nodeId, config.retention),
        { intervalMinutes: config.retention.intervalMinutes, logger },
      );
      retention.start();
      closers.push(() => retention.stop());
      for (const worker of workers) worker.start();
      deliverer.start();
      // Another process took this node id after our lease ran out (we were cut off): its
      // work is no longer ours. Stop analysing and sending; ingest goes on into the local
      // index, and /health says why (ADR 0183).
      holderForLease.lost = () => {
        logger.error('node-lease-lost', { nodeId: config.cluster?.nodeId ?? null });
        for (const worker of workers) void worker.stop(0);
        void deliverer.stop();
      };
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
        dicom: { aeTitle: config.aeTitle, host: config.dicomHost, port: scp.port },
        http: { host: config.httpHost, port: http.port },
        watchFolder: config.watchFolder,
      };
      const node = new RadiolensNode(
        config,
        listeners,
        {
          db,
          queue,
          outbox,
          cluster,
          scheduler,
          scp,
          http,
          watcher,
          timer,
          workers,
          deliverer,
          analysisThreads,
          lock,
          drift,
          clusterResults,
          retention,
        },
        logger,
        options.version ?? '0.0.0',
      );
      const activeUsers = (await users.list()).filter((u) => u.disabledAt === null).length;
      // Which configuration this node runs with, as a digest (issue #13 Deliver 7): a change
      // of configuration between starts shows as a new digest in the audit log. A node that
      // cannot write its audit log does not start.
      await audit.record({
        actor: `node@${hostname()}`,
        action: 'node.start',
        subject: `node:${config.aeTitle}`,
        details: {
          version: options.version ?? '0.0.0',
          configSha256: createHash('sha256').update(JSON.stringify(config)).digest('hex'),
          activeUsers,
        },
      });
      holder.node = node;
      if (testDelayMs() > 0) {
        logger.warn('test-hook-active', { env: TEST_DELAY_ENV, ms: testDelayMs() });
      }
      // One line that says who can reach what (issue #16): both listeners and their access.
      logger.info('node-access', {
        dicom: `${config.dicomHost}:${scp.port} ${config.aeTitle}`,
        dicomCallers: describeCallers(config.allowedCallers),
        http: `${tls === undefined ? 'http' : 'https'}://${config.httpHost}:${http.port}`,
        httpMachines: describeHttpAccess(config.http),
        httpUsers: activeUsers,
        httpHealth: 'anyone (no patient data)',
      });
      logger.info('node-started', {
        ...(cluster === null
          ? {}
          : { database: cluster.snapshot().database, nodeId: cluster.snapshot().nodeId }),
        aeTitle: config.aeTitle,
        dicomHost: config.dicomHost,
        dicomPort: scp.port,
        httpHost: config.httpHost,
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

  /**
   * The /health report (ADR 0134): every condition found, by name. 'unavailable' (HTTP 503)
   * when ingest cannot accept — free space under health.minFreeBytes, the database
   * unusable; 'degraded' when a job has run longer than health.stuckJobSeconds or the
   * stability check keeps failing.
   */
  health(): HealthReport {
    const base = {
      version: this.version,
      uptimeSeconds: Math.round((Date.now() - this.startedAt) / 1000),
      stopping: this.stopping !== undefined,
      listeners: this.listeners,
    };
    const conditions: HealthCondition[] = [];
    const disk = freeSpace(this.config.dataDir);
    if (disk === undefined) {
      conditions.push({
        condition: 'disk-unreadable',
        blocksIngest: true,
        detail: 'statfs failed',
      });
    } else if (disk.freeBytes < this.config.health.minFreeBytes) {
      conditions.push({
        condition: 'disk-low',
        blocksIngest: true,
        detail: `${disk.freeBytes} bytes free in the data folder, below the ${this.config.health.minFreeBytes} this node needs — free space or move the data folder`,
      });
    }
    let database: Record<string, unknown> = {};
    try {
      this.parts.db.prepare('SELECT 1').get();
      database = {
        ...(this.parts.queue === null ? {} : { queue: this.parts.queue.counts() }),
        ...(this.parts.outbox === null ? {} : { outbox: this.parts.outbox.counts() }),
        notRouted: this.parts.scheduler.notRoutedCount(),
      };
    } catch (error) {
      conditions.push({
        condition: 'database-unavailable',
        blocksIngest: true,
        detail: scrub(describeError(error)),
      });
    }
    if (this.parts.cluster !== null) {
      const cluster = clusterHealth(this.parts.cluster);
      conditions.push(...cluster.conditions);
      database = { ...database, ...cluster.fields };
    }
    const store = this.parts.scheduler.sharedStoreCondition();
    if (store !== undefined) conditions.push({ ...store, detail: scrub(store.detail) });
    const stuckAfterMs = this.config.health.stuckJobSeconds * 1000;
    for (const worker of this.parts.workers) {
      const job = worker.currentJob();
      if (job !== undefined && Date.now() - job.since > stuckAfterMs) {
        conditions.push({
          condition: 'job-stuck',
          blocksIngest: false,
          detail: `job ${job.id} has run ${Math.round((Date.now() - job.since) / 1000)} s, more than ${this.config.health.stuckJobSeconds} s`,
        });
      }
    }
    const stability = this.stabilityFailure;
    if (
      stability !== undefined &&
      Date.now() - stability.last < 2 * this.config.quietPeriodSeconds * 1000 + 60_000
    ) {
      conditions.push({
        condition: 'stability-check-failing',
        blocksIngest: false,
        detail: `${stability.count} failure(s) since ${new Date(stability.since).toISOString()}: ${stability.error}`,
      });
    }
    const status = conditions.some((c) => c.blocksIngest)
      ? 'unavailable'
      : conditions.length > 0
        ? 'degraded'
        : 'ok';
    return {
      status,
      ...base,
      conditions,
      disk: disk ?? null,
      ...database,
      workers: this.parts.workers.length,
      monitoring: this.parts.drift?.health() ?? null,
    };
  }

  /** Called by the stability timer's error path; cleared by the next successful check. */
  noteStabilityFailure(error: unknown): void {
    const now = Date.now();
    const previous = this.stabilityFailure;
    this.stabilityFailure = {
      since: previous?.since ?? now,
      last: now,
      count: (previous?.count ?? 0) + 1,
      error: scrub(describeError(error)).slice(0, 200),
    };
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
    const {
      scp,
      http,
      watcher,
      timer,
      workers,
      deliverer,
      analysisThreads,
      db,
      lock,
      drift,
      clusterResults,
      retention,
    } = this.parts;
    this.logger.info('node-stopping', { graceSeconds: this.config.shutdownGraceSeconds });
    // 1. Stop accepting; stores already in progress are finished and acknowledged.
    await Promise.all([scp.stop(graceMs), http.stop(graceMs), watcher?.stop()]);
    // 2. No new jobs; a running job finishes within the grace period or is re-queued.
    await timer.stop();
    await Promise.all(workers.map((worker) => worker.stop(graceMs)));
    // 3. Sends in flight finish; what is pending stays in the outbox for the next start.
    await deliverer.stop();
    await drift?.stop();
    await clusterResults?.stop();
    await retention.stop();
    await Promise.all(analysisThreads.map((thread) => thread.close()));
    const cluster = this.parts.cluster;
    const counts =
      cluster === null
        ? { queue: this.parts.queue!.counts(), outbox: this.parts.outbox!.counts() }
        : cluster.snapshot();
    // The lease goes back last: every job and claim still held is given back at once.
    await cluster?.stop();
    db.close();
    lock.release();
    this.logger.info('node-stopped', {
      queued: counts.queue?.queued ?? null,
      running: counts.queue?.running ?? null,
      outboxPending: counts.outbox?.pending ?? null,
    });
  }
}
