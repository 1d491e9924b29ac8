/**
 * JobWorker: claims analysis jobs from the durable queue, keeps the lease alive while the
 * study is analysed, puts every output into the persistent outbox for each destination that
 * takes it, and only then completes the job (ADR 0112). A crash at any point re-runs the job
 * after its lease expires; the outputs carry deterministic UIDs and the outbox keys are
 * `destination|SOP Instance UID`, so a re-run never sends a second copy.
 */
import { readFile, rm } from 'node:fs/promises';
import { isAbsolute, join, relative } from 'node:path';
import {
  analyzeFiles,
  type AnalysisThread,
  type ModelSessions,
  type StudyOutcome,
} from '../../inference/analysis/index.js';
import {
  RadiolensError,
  describeError,
  diskFull,
  isRadiolensError,
} from '../../foundation/core/index.js';
import { dicomArtifacts } from '../../inference/results/index.js';
import {
  accepts,
  destinationLabel,
  Outbox,
  sqliteOutboxPort,
  type DeliveryPayload,
  type Destination,
  type OutboxItem,
  type OutboxPort,
  type ResultFilesPort,
} from '../delivery/index.js';
import type { ModelRegistry } from '../../inference/models/index.js';
import {
  JobQueue,
  sqliteJobQueuePort,
  type ClaimedJob,
  type Job,
  type JobFailure,
  type JobQueuePort,
} from '../queue/index.js';
import {
  fetchStudy,
  parseSharedStore,
  sharedSourceOf,
  type FetchedStudy,
  type SharedStore,
} from '../sharedStore/index.js';
import type { InstanceStore } from '../store/index.js';
import type { AnalysisLog } from './analysisLog.js';
import { isShadowJob, parseModelRef } from './jobs.js';
import { scrub, uidTag, type NodeLogger } from './log.js';
import { AUTO_MODEL } from './routing.js';
import { resultsInDatabase, resultsInFolder, type ResultKeeping } from './resultKeeping.js';

/**
 * TEST ONLY: milliseconds a worker waits after queueing a job's outputs and before
 * completing it, so the integration tests can SIGKILL the node mid-job (ADR 0112). Never
 * set it in production; the node logs a warning at start when it is set.
 */
export const TEST_DELAY_ENV = 'RADIOLENS_TEST_JOB_DELAY_MS';

export function testDelayMs(): number {
  const value = Number(process.env[TEST_DELAY_ENV] ?? 0);
  return Number.isFinite(value) && value > 0 ? value : 0;
}

export interface JobWorkerOptions {
  /**
   * The node's instance index, where a job's files are found; absent in a worker process
   * (`radiolens worker`), whose jobs carry their files (ADR 0183).
   */
  readonly store?: InstanceStore;
  /** The embedded queue, or any queue behind the port (PostgreSQL, ADR 0180). */
  readonly queue: JobQueue | JobQueuePort;
  readonly outbox: Outbox | OutboxPort;
  readonly registry: ModelRegistry;
  /**
   * Where analyses run: a thread of their own, as `serve` and `radiolens worker` do (ADR 0128),
   * so that none of an analysis blocks the event loop; or this thread, with a set of loaded
   * models (tests of the worker's own logic).
   */
  readonly analysis: { readonly thread: AnalysisThread } | { readonly sessions: ModelSessions };
  readonly destinations: readonly Destination[];
  readonly dataDir: string;
  readonly logger: NodeLogger;
  /** Lease length of the queue; the worker renews it every third of it. */
  readonly leaseMs: number;
  /** How often an idle worker looks for a job; default 500 ms. */
  readonly pollMs?: number;
  /** Called after outputs were put into the outbox (wake the deliverer). */
  readonly onOutputsQueued?: () => void;
  /** Where completed analyses are recorded for the monitor and the pilot (ADR 0088). */
  readonly analysisLog?: AnalysisLog;
  /** Called when a job's result is settled: completed, or failed (the worklist's notices). */
  readonly onResult?: () => void;
  /** The site's FHIR patient identifier system (config `patientIdSystem`, ADR 0152). */
  readonly patientIdSystem?: string;
  /** False while this process may not take work (its node lease is not fresh, ADR 0183). */
  readonly mayClaim?: () => boolean;
  /**
   * Where this process reads a study that a job names in the shared DICOM store (ADR 0187):
   * its DICOMweb root and credentials — any Orthanc on the store's database. Absent: the
   * root the job names, without credentials.
   */
  readonly sharedStore?: SharedStore;
  /**
   * Where a job's result files go when this process's data folder is its own (ADR 0193): the
   * shared database, with the job's completion and its outbox entries in one transaction; the
   * job's results folder is removed once they are committed. Absent: the files stay in
   * `<dataDir>/results/<job id>` and outbox entries name them by path (a shared folder).
   */
  readonly resultFiles?: ResultFilesPort;
  /** Where studies read from the shared store are put (default the system's, $TMPDIR). */
  readonly fetchDir?: string;
}

/** The outbox items for a study's outputs: each output to each destination that takes it. */
export function outboxItemsFor(
  outcome: StudyOutcome,
  destinations: readonly Destination[],
): OutboxItem[] {
  const payloads: DeliveryPayload[] = [];
  const study = outcome.studyInstanceUid;
  // Typed artifacts (ADR 0150): every DICOM object the analysis wrote, whatever its kind, then
  // the FHIR bundle. Other files (the heatmap PNGs) stay in the node's results folder.
  for (const artifact of dicomArtifacts(outcome.artifacts)) {
    payloads.push({
      kind: 'dicom',
      file: artifact.path,
      studyInstanceUid: study,
      sopInstanceUid: artifact.dicom.sopInstanceUid,
    });
  }
  for (const artifact of outcome.artifacts) {
    if (artifact.kind === 'fhir') {
      payloads.push({ kind: 'fhir-bundle', file: artifact.path, studyInstanceUid: study });
    }
  }
  const model = outcome.model === null ? '' : `${outcome.model.id}@${outcome.model.version}`;
  const items: OutboxItem[] = [];
  for (const destination of destinations) {
    const label = destinationLabel(destination);
    for (const payload of payloads) {
      if (!accepts(destination, payload)) continue;
      const key =
        payload.kind === 'dicom'
          ? `${label}|${payload.sopInstanceUid}`
          : `${label}|fhir|${study}|${model}`;
      items.push({ destination, payload, key });
    }
  }
  return items;
}

/**
 * The files of a job's study: those its payload names (a job enqueued on a shared database
 * carries the absolute paths of the instances, ADR 0183), else the node's index.
 */
export function studyFilesOf(
  job: Job,
  store: InstanceStore | undefined,
  dataDir: string,
): string[] {
  const files = job.payload['files'];
  if (Array.isArray(files) && files.every((file) => typeof file === 'string' && isAbsolute(file))) {
    return files as string[];
  }
  if (store === undefined) {
    throw new RadiolensError(
      'E_BAD_INPUT',
      `job ${job.id} names no instance files and this process has no instance index — enqueue it from a node on the same database (radiolens serve --database)`,
    );
  }
  return store.studyInstances(job.studyInstanceUid).map((record) => join(dataDir, record.path));
}

export class JobWorker {
  private running = false;
  private readonly queue: JobQueuePort;
  private readonly outbox: OutboxPort;
  private readonly keeping: ResultKeeping;
  private loop: Promise<void> = Promise.resolve();
  private wakeUp: (() => void) | undefined;
  private current: { claimed: ClaimedJob; done: Promise<void>; abandoned: boolean } | undefined;
  private busySince: number | undefined;
  /** Since when, and why, the shared store has not given this worker its jobs' studies. */
  private storeTrouble: { since: number; error: string } | undefined;
  /** Since when, and why, this host's disk has had no room for a job (E_DISK_FULL). */
  private diskTrouble: { since: number; error: string } | undefined;

  constructor(
    readonly id: string,
    private readonly options: JobWorkerOptions,
  ) {
    this.queue =
      options.queue instanceof JobQueue ? sqliteJobQueuePort(options.queue) : options.queue;
    this.outbox =
      options.outbox instanceof Outbox ? sqliteOutboxPort(options.outbox) : options.outbox;
    const onQueued = () => options.onOutputsQueued?.();
    this.keeping =
      options.resultFiles === undefined
        ? resultsInFolder(this.queue, this.outbox, onQueued)
        : resultsInDatabase(options.resultFiles, onQueued);
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.loop = this.run();
  }

  /** Something was enqueued: look now instead of at the next poll. */
  kick(): void {
    this.wakeUp?.();
  }

  private async run(): Promise<void> {
    while (this.running) {
      let worked = false;
      try {
        worked = await this.runOnce();
      } catch (error) {
        this.options.logger.error('worker-error', {
          worker: this.id,
          error: scrub(describeError(error)),
        });
      }
      if (!worked && this.running) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, this.options.pollMs ?? 500);
          this.wakeUp = () => {
            clearTimeout(timer);
            resolve();
          };
        });
        this.wakeUp = undefined;
      }
    }
  }

  /** Claims and runs one job; false when none was ready. */
  async runOnce(): Promise<boolean> {
    if (this.options.mayClaim?.() === false) return false;
    const claimed = await this.queue.claim(this.id);
    if (claimed === undefined) return false;
    const current = { claimed, done: Promise.resolve(), abandoned: false };
    this.busySince = Date.now();
    current.done = this.runJob(current);
    this.current = current;
    try {
      await current.done;
    } finally {
      this.current = undefined;
      this.busySince = undefined;
    }
    return true;
  }

  /**
   * Since when the shared store has not answered this worker, and its last error (ADR 0187),
   * for /health; undefined once a study was read from it again.
   */
  sharedStoreTrouble(): { readonly since: number; readonly error: string } | undefined {
    return this.storeTrouble;
  }

  /**
   * Since when this host's disk has had no room for a job's study or results, and the last
   * error, for /health; undefined once a job got its room again.
   */
  localDiskTrouble(): { readonly since: number; readonly error: string } | undefined {
    return this.diskTrouble;
  }

  /** The job this worker runs now and since when (ms since the epoch), for /health. */
  currentJob(): { readonly id: number; readonly since: number } | undefined {
    const current = this.current;
    return current === undefined || this.busySince === undefined
      ? undefined
      : { id: current.claimed.job.id, since: this.busySince };
  }

  private async runJob(current: { claimed: ClaimedJob; abandoned: boolean }): Promise<void> {
    const { claimed } = current;
    const { queue } = this;
    const { store, logger } = this.options;
    const job = claimed.job;
    const fields = { worker: this.id, job: job.id, study: uidTag(job.studyInstanceUid) };
    let leaseLost = false;
    // The study read from the shared store into a folder of the job's own (ADR 0187).
    let fetched: FetchedStudy | undefined;
    let failure: JobFailure = 'counted';
    const outDir = join(this.options.dataDir, 'results', String(job.id));
    const { keeping } = this;
    // In the database mode the job's folder goes once its files are committed (or the job
    // failed), unless this node's own analysis log names it (its own study, below).
    let keepOutDir = keeping.keepsFolder;
    const heartbeat = setInterval(
      () => {
        if (current.abandoned) return;
        // A lost connection is not a lost lease: the next beat tries again (ADR 0183).
        queue.heartbeat(claimed).then(
          (held) => {
            if (!held) leaseLost = true;
          },
          () => undefined,
        );
      },
      Math.max(100, Math.floor(this.options.leaseMs / 3)),
    );
    const started = Date.now();
    const shadow = isShadowJob(job.payload);
    logger.info('job-started', {
      ...fields,
      model: job.model,
      attempt: job.attempts,
      ...(shadow ? { shadow: true } : {}),
    });
    try {
      const model = await this.modelToRun(job.model, shadow);
      if (model.kind === 'not-active') {
        // Pinned to a version that is no longer active: a model that is not active never
        // runs live (ADR 0035). Not a failure to retry: the study needs another route.
        const reason = model.reason;
        if (await queue.complete(claimed, { model: null, outputs: 0, outboxItems: 0, reason })) {
          logger.warn('job-model-not-active', {
            ...fields,
            model: job.model,
            reason: scrub(reason),
          });
        }
        return;
      }
      const source = sharedSourceOf(job.payload);
      let files: readonly string[];
      if (source === undefined) files = studyFilesOf(job, store, this.options.dataDir);
      else {
        try {
          fetched = await fetchStudy(
            this.options.sharedStore ?? parseSharedStore(source.url),
            job.studyInstanceUid,
            source.sopInstanceUids,
            this.options.fetchDir === undefined ? {} : { parentDir: this.options.fetchDir },
          );
        } catch (error) {
          // Retrying cannot bring back a study the store does not have; a store that is away
          // is not the job's fault, and uses up none of its attempts.
          if (isRadiolensError(error) && error.code === 'E_STUDY_NOT_FOUND') failure = 'final';
          if (isRadiolensError(error) && error.code === 'E_STORE_UNREACHABLE') {
            failure = 'uncounted';
            this.storeTrouble = {
              since: this.storeTrouble?.since ?? Date.now(),
              error: scrub(describeError(error)),
            };
          }
          throw error;
        }
        this.storeTrouble = undefined;
        files = fetched.files;
        if (current.abandoned) return;
        logger.info('job-study-fetched', { ...fields, instances: files.length });
      }
      await keeping.prepare(outDir);
      const request = {
        ...(model.kind === 'auto' ? {} : { model: model.model }),
        outDir,
        ...(this.options.patientIdSystem === undefined
          ? {}
          : { patientIdentifierSystem: this.options.patientIdSystem }),
      };
      const where = this.options.analysis;
      const run =
        'thread' in where
          ? await where.thread.analyze([...files], request)
          : await analyzeFiles([...files], {
              ...request,
              registry: this.options.registry,
              sessions: where.sessions,
            });
      if (current.abandoned) return;
      const outcome = run.studies.find((s) => s.studyInstanceUid === job.studyInstanceUid);
      if (outcome === undefined) {
        const why = run.problems[0]?.error ?? 'the study has no instances';
        throw new Error(`no readable instance of the study: ${why}`);
      }
      // A shadow run keeps its results in the node and delivers nothing (ADR 0088).
      const items = shadow ? [] : outboxItemsFor(outcome, this.options.destinations);
      const outputs = outcome.artifacts.filter(
        (artifact) => artifact.dicom !== undefined || artifact.kind === 'fhir',
      ).length;
      if (leaseLost) {
        logger.warn('job-lease-lost', fields);
        return;
      }
      // The clinical results join the study in the node's own store, so that its DICOMweb —
      // and the OHIF Viewer it serves — shows the SR, the heatmap SC and the Parametric Map
      // beside the originals (ADR 0195). A shadow model's results stay out of the viewer. A
      // worker process has no store of its own (ADR 0183), and on a shared queue this node may
      // run another ingest node's study: those results are delivered only here, and join the
      // study's own node from the shared queue (ADR 0186).
      const ours = store !== undefined && store.studyInstances(job.studyInstanceUid).length > 0;
      if (!shadow && ours) {
        for (const artifact of dicomArtifacts(outcome.artifacts)) {
          await store.storeResult(await readFile(artifact.path), {
            source: `result of job ${job.id}`,
            jobId: job.id,
          });
        }
        if (current.abandoned) return;
      }
      const queued = await keeping.queue(items);
      const delay = testDelayMs();
      if (delay > 0) {
        logger.warn('job-test-delay', { ...fields, ms: delay });
        await new Promise((r) => setTimeout(r, delay));
        if (current.abandoned) return;
      }
      const ran = outcome.model === null ? null : `${outcome.model.id}@${outcome.model.version}`;
      const analysed = ran !== null && (outcome.record?.sources.length ?? 0) > 0;
      const accession = outcome.record?.sources[0]?.dataset['AccessionNumber'];
      const accessionNumber =
        typeof accession === 'string' && accession.trim() !== '' ? accession.trim() : null;
      if (analysed && ours) {
        keepOutDir = keepOutDir || this.options.analysisLog !== undefined;
        this.options.analysisLog?.record({
          jobId: job.id,
          studyInstanceUid: job.studyInstanceUid,
          accessionNumber,
          model: ran,
          mode: shadow ? 'shadow' : 'clinical',
          completedAt: Date.now(),
          summaryPath: relative(this.options.dataDir, outcome.outputs.summary),
        });
      }
      const results = shadow ? [] : dicomArtifacts(outcome.artifacts).map((a) => a.path);
      const result = {
        model: ran,
        outputs,
        outboxItems: items.length,
        ...(outputs === 0 ? { reason: outcome.problem ?? 'nothing to analyse' } : {}),
        // Where the analysis lies, so that the ingest node of a cluster can put it on its
        // worklist and in its viewer (ADR 0186): by absolute path on the shared storage, or by
        // name among the job's result files in the database (ADR 0193).
        ...(analysed
          ? {
              analysis: {
                mode: shadow ? 'shadow' : 'clinical',
                accessionNumber,
                ...keeping.locate(outDir, outcome.outputs.summary, results),
              },
            }
          : {}),
      };
      const completed = await keeping.complete(claimed, result, items, outDir);
      this.diskTrouble = undefined;
      if (!completed) {
        logger.warn('job-lease-lost', fields);
        return;
      }
      if (!shadow) this.options.onResult?.();
      logger.info(outputs === 0 ? 'job-not-analysed' : 'job-done', {
        ...fields,
        model: ran,
        ...(shadow ? { shadow: true } : {}),
        images: outcome.record?.sources.length ?? 0,
        outputs,
        outboxNew: queued,
        ms: Date.now() - started,
        ...(outputs === 0 ? { reason: scrub(outcome.problem ?? 'nothing to analyse') } : {}),
      });
    } catch (caught) {
      if (current.abandoned) return;
      let error = caught;
      // No room on this host's disk (its temporary folder, its results folder) is neither the
      // study's fault nor the job's: it runs again later without using up an attempt.
      if (diskFull(error) && !(isRadiolensError(error) && error.code === 'E_DISK_FULL')) {
        error = new RadiolensError(
          'E_DISK_FULL',
          `no room on this host's disk for the job's results (${outDir}) — the job runs again later without using up an attempt; free space there`,
          { cause: error },
        );
      }
      if (isRadiolensError(error) && error.code === 'E_DISK_FULL') {
        failure = 'uncounted';
        this.diskTrouble = {
          since: this.diskTrouble?.since ?? Date.now(),
          error: scrub(describeError(error)),
        };
      }
      const message = scrub(describeError(error));
      const state = await queue.fail(claimed, message, failure).catch((problem: unknown) => {
        // The database is unreachable: the lease runs out and the job runs again.
        logger.error('job-fail-unrecorded', { ...fields, error: scrub(describeError(problem)) });
        return undefined;
      });
      if (state === 'failed' && !shadow) this.options.onResult?.();
      logger.error('job-failed', { ...fields, error: message, next: state ?? 'lease-lost' });
    } finally {
      clearInterval(heartbeat);
      // The copy of the study is the job's own: gone whatever happened (the store keeps it).
      await fetched?.remove();
      // A private results folder: its files are in the database, or the job failed.
      if (!keepOutDir && !current.abandoned) await rm(outDir, { recursive: true, force: true });
    }
  }

  /**
   * The model a job runs: the automatic choice, a shadow job's exact version, or the active
   * version of a live job's model; the reason when a live job is pinned to a version that is
   * no longer active.
   */
  private async modelToRun(
    ref: string,
    shadow: boolean,
  ): Promise<
    | { kind: 'auto' }
    | { kind: 'model'; model: { id: string; version?: string } }
    | { kind: 'not-active'; reason: string }
  > {
    if (ref === AUTO_MODEL) return { kind: 'auto' };
    const wanted = parseModelRef(ref);
    if (shadow) return { kind: 'model', model: wanted };
    try {
      const pkg = await this.options.registry.resolveActive(wanted.id, wanted.version);
      return { kind: 'model', model: { id: pkg.manifest.id, version: pkg.manifest.version } };
    } catch (error) {
      if (isRadiolensError(error) && error.code === 'E_MODEL_NOT_ACTIVE') {
        return { kind: 'not-active', reason: describeError(error) };
      }
      throw error;
    }
  }

  /**
   * Stops claiming. A job in progress may finish within graceMs; otherwise its lease is
   * released so that it is re-queued at once (for the next start), and its late result is
   * discarded.
   */
  async stop(graceMs: number): Promise<void> {
    this.running = false;
    this.wakeUp?.();
    const current = this.current;
    if (current !== undefined) {
      const finished = await Promise.race([
        current.done.then(() => true),
        new Promise<boolean>((r) => setTimeout(() => r(false), graceMs).unref()),
      ]);
      if (!finished) {
        current.abandoned = true;
        const released = await this.queue.release(current.claimed).catch(() => false);
        this.options.logger.warn('job-released', {
          worker: this.id,
          job: current.claimed.job.id,
          released,
        });
      }
    }
    await Promise.race([this.loop, new Promise((r) => setTimeout(r, 50).unref())]);
  }
}
