/**
 * From a stable study to jobs (ADR 0111): route the study, then enqueue one job per model
 * with the key `study|model|lastReceivedAt` (and `|shadow` for a shadow job). The receipt
 * time in the key means a study that grows after it was analysed is analysed again, while a
 * re-declaration of the same content (a restart between enqueue and the stability mark) finds
 * the job already there. A study no rule routes is recorded in `not_routed_studies`, visible
 * in /health.
 *
 * A model named by its bare id stays a bare id in the job: the worker runs whichever version
 * is active when the job runs, so a promotion takes effect for the next study without a
 * restart (ADR 0035). A pinned `id@version` must be the active version (checked at start and
 * again when the job runs); shadow models (`id@version`) may be any installed version.
 *
 * On a shared database (ADR 0192) a stable study is this node's *part* of it: the part is
 * declared in PostgreSQL, and the declaration that leaves no live node's part arriving enqueues
 * one job per model over every node's part, routed by all their instances, keyed by the
 * assembly's receipt time.
 */
import { RadiolensError, describeError, isRadiolensError } from '../../foundation/core/index.js';
import type { ModelRegistry } from '../../inference/models/index.js';
import { join, resolve } from 'node:path';
import { JobQueue, type JobQueuePort } from '../queue/index.js';
import { sharedSourceFor, storeStudy, type SharedStore } from '../sharedStore/index.js';
import {
  assembledInstances,
  type Assembly,
  type PartFacts,
  type StudyAssembly,
  type StudyPartSource,
} from '../postgres/index.js';
import type { InstanceRecord, InstanceStore, NodeDatabase, StableStudy } from '../store/index.js';
import type { RouteRule } from './config.js';
import { uidTag, type NodeLogger } from './log.js';
import {
  AUTO_MODEL,
  routeStudy,
  studyFacts,
  type RouteDecision,
  type StudyFacts,
} from './routing.js';

export function studyJobKey(
  studyInstanceUid: string,
  model: string,
  lastReceivedAt: number,
  shadow = false,
): string {
  return `${studyInstanceUid}|${model}|${lastReceivedAt}${shadow ? '|shadow' : ''}`;
}

/** A job's payload says whether it is a shadow run (ADR 0088). */
export function isShadowJob(payload: Readonly<Record<string, unknown>>): boolean {
  return payload['shadow'] === true;
}

/** Parse `<id>[@<version>]`. */
export function parseModelRef(text: string): { id: string; version?: string } {
  const at = text.lastIndexOf('@');
  if (at <= 0) return { id: text };
  return { id: text.slice(0, at), version: text.slice(at + 1) };
}

export function ensureNotRoutedSchema(db: NodeDatabase): void {
  db.exec(`
    CREATE TABLE IF NOT EXISTS not_routed_studies (
      study_instance_uid TEXT PRIMARY KEY,
      last_received_at INTEGER NOT NULL,
      reason TEXT NOT NULL,
      recorded_at INTEGER NOT NULL
    );
  `);
}

export interface StudyJobSchedulerOptions {
  readonly routes: readonly RouteRule[];
  readonly defaultModels: readonly string[];
  /** Shadow models of the default route (id@version). */
  readonly defaultShadow?: readonly string[];
  readonly logger: NodeLogger;
  /** Called after jobs were enqueued (wake the workers). */
  readonly onEnqueued?: () => void;
  readonly now?: () => number;
  /**
   * The data directory (absolute): a job on a shared queue carries the absolute paths of its
   * study's files, so a worker on another host reads them without this node's index
   * (ADR 0183). Only used with a queue behind the port.
   */
  readonly dataDir?: string;
  /**
   * The cluster's shared DICOM store (ADR 0187): a stable study goes there by STOW-RS before
   * its jobs are enqueued, and the jobs name it by UIDs and the store instead of file paths.
   * Only used with a queue behind the port.
   */
  readonly sharedStore?: SharedStore;
  /**
   * One job per study across ingest nodes (ADR 0192): a stable study is this node's part of
   * it; the jobs are enqueued, covering every node's part, once no part is still arriving.
   * Only used with a queue behind the port.
   */
  readonly assembly?: Pick<
    StudyAssembly,
    'declareStable' | 'assemble' | 'markAssembled' | 'unassembled'
  >;
}

const FACT_NAMES = [
  'modality',
  'bodyPartExamined',
  'viewPosition',
  'sopClassUid',
  'callingAeTitle',
] as const satisfies readonly (keyof StudyFacts)[];

function factsToJson(facts: StudyFacts): PartFacts {
  return Object.fromEntries(FACT_NAMES.map((name) => [name, [...facts[name]].sort()]));
}

/** The routing facts of a study assembled from parts: at least one instance of any part. */
function mergedFacts(parts: readonly { facts: PartFacts }[]): StudyFacts {
  const merged = (name: (typeof FACT_NAMES)[number]): Set<string> =>
    new Set(parts.flatMap((part) => part.facts[name] ?? []));
  return {
    modality: merged('modality'),
    bodyPartExamined: merged('bodyPartExamined'),
    viewPosition: merged('viewPosition'),
    sopClassUid: merged('sopClassUid'),
    callingAeTitle: merged('callingAeTitle'),
  };
}

export class StudyJobScheduler {
  /** Since when, and why, the shared store has not taken the studies offered (for /health). */
  private storeFailure: { since: number; error: string } | undefined;

  constructor(
    private readonly store: InstanceStore,
    /** The embedded queue (enqueue in the index's transaction), or a shared one (ADR 0183). */
    private readonly queue: JobQueue | JobQueuePort,
    private readonly registry: ModelRegistry,
    private readonly options: StudyJobSchedulerOptions,
  ) {
    ensureNotRoutedSchema(store.db);
  }

  /**
   * Checks every model the routes and the default name, so that a typo stops the node at
   * start rather than leaving studies unanalysed: a live model must be installed and, when
   * pinned to a version, be the active one; a shadow model must be installed.
   */
  async prepare(): Promise<void> {
    const live = new Set([
      ...this.options.defaultModels,
      ...this.options.routes.flatMap((rule) => rule.models),
    ]);
    const shadow = new Set([
      ...(this.options.defaultShadow ?? []),
      ...this.options.routes.flatMap((rule) => rule.shadow ?? []),
    ]);
    const problems: string[] = [];
    for (const ref of live) {
      const { id, version } = parseModelRef(ref);
      try {
        await this.registry.resolveActive(id, version);
      } catch (error) {
        problems.push(`  model ${ref}: ${describeError(error)}`);
      }
    }
    for (const ref of shadow) {
      const { id, version } = parseModelRef(ref);
      try {
        await this.registry.resolve(id, version);
      } catch (error) {
        problems.push(`  shadow model ${ref}: ${describeError(error)}`);
      }
    }
    if (problems.length > 0) {
      throw new RadiolensError(
        'E_MODEL_NOT_FOUND',
        `the configured models cannot all run:\n${problems.join('\n')}\n` +
          `add the package to the model registry (${this.registry.root}, see --registry), name live models by their id (the active version runs), or fix --model / --shadow / routes`,
      );
    }
  }

  /**
   * The StableStudyHandler: idempotent, so a repeated declaration changes nothing. On the
   * embedded queue it runs synchronously; on a shared queue it resolves once every job is
   * in the database, and a rejection (database unreachable) leaves the study undeclared, so
   * the stability timer offers it again (ADR 0092).
   */
  onStable = (study: StableStudy): void | Promise<void> => {
    const instances = this.store.studyInstances(study.studyInstanceUid);
    const assembly = this.options.assembly;
    if (assembly !== undefined && !(this.queue instanceof JobQueue)) {
      return this.declarePart(assembly, this.queue, study, instances);
    }
    const decision = routeStudy(
      studyFacts(instances),
      this.options.routes,
      this.options.defaultModels,
      this.options.defaultShadow ?? [],
    );
    if (decision.kind === 'not-routed') {
      this.recordNotRouted(study, decision.reason);
      return;
    }
    const runs = this.runsOf(decision);
    if (!(this.queue instanceof JobQueue)) {
      return this.enqueueShared(this.queue, study, instances, runs, decision);
    }
    const queue = this.queue;
    const enqueue = this.store.db.transaction(() => {
      // Routed now: it no longer counts as not routed (the study grew, or rules changed).
      this.store.db
        .prepare('DELETE FROM not_routed_studies WHERE study_instance_uid = ?')
        .run(study.studyInstanceUid);
      return runs.map(({ model, shadow }) => ({
        model,
        shadow,
        ...queue.enqueue({
          key: studyJobKey(study.studyInstanceUid, model, study.lastReceivedAt, shadow),
          studyInstanceUid: study.studyInstanceUid,
          model,
          payload: { lastReceivedAt: study.lastReceivedAt, ...(shadow ? { shadow: true } : {}) },
        }),
      }));
    });
    this.logEnqueued(study, decision, enqueue.immediate());
    this.options.onEnqueued?.();
  };

  /**
   * This node's part of a study is stable (ADR 0192): with a shared store it goes there first
   * (ADR 0187), then it is declared in the database; the declaration that leaves no live
   * node's part arriving enqueues the study.
   */
  private async declarePart(
    assembly: NonNullable<StudyJobSchedulerOptions['assembly']>,
    queue: JobQueuePort,
    study: StableStudy,
    instances: readonly InstanceRecord[],
  ): Promise<void> {
    const dataDir = resolve(this.options.dataDir ?? this.store.dataDir);
    const files = instances.map((record) => join(dataDir, record.path));
    let source: StudyPartSource = {
      sopInstanceUids: instances.map((record) => record.sopInstanceUid),
      files,
    };
    const store = this.options.sharedStore;
    if (store !== undefined) {
      source = { sopInstanceUids: await this.toSharedStore(store, study, instances, files) };
    }
    const outcome = await assembly.declareStable({
      studyInstanceUid: study.studyInstanceUid,
      instances: study.instanceCount,
      lastReceivedAt: study.lastReceivedAt,
      source,
      facts: factsToJson(studyFacts(instances)),
    });
    await this.enqueueAssembly(assembly, queue, outcome);
  }

  /**
   * The studies in which this node holds a ready part that no enqueued job covers and for which
   * no live node's part is arriving (ADR 0192): those whose assembling node died, or whose
   * other parts belong to nodes whose lease ran out. Returns how many were enqueued.
   */
  async assembleUnfinished(): Promise<number> {
    const assembly = this.options.assembly;
    if (assembly === undefined || this.queue instanceof JobQueue) return 0;
    let enqueued = 0;
    for (const uid of await assembly.unassembled()) {
      const outcome = await assembly.assemble(uid);
      if (await this.enqueueAssembly(assembly, this.queue, outcome)) enqueued += 1;
    }
    return enqueued;
  }

  private async enqueueAssembly(
    assembly: NonNullable<StudyJobSchedulerOptions['assembly']>,
    queue: JobQueuePort,
    outcome: Assembly,
  ): Promise<boolean> {
    const tag = uidTag(outcome.studyInstanceUid);
    if (outcome.kind === 'waiting') {
      // Node ids, not patient data: which nodes' parts the study waits for.
      this.options.logger.info('study-part-waiting', {
        study: tag,
        waitingFor: outcome.on.join(','),
      });
      return false;
    }
    if (outcome.kind === 'nothing') return false;
    const union = assembledInstances(outcome.parts);
    const study: StableStudy = {
      studyInstanceUid: outcome.studyInstanceUid,
      lastReceivedAt: outcome.keyTime,
      instanceCount: union.sopInstanceUids.length,
    };
    if (outcome.leftOut.length > 0) {
      this.options.logger.warn('study-parts-left-out', {
        study: tag,
        nodes: outcome.leftOut.join(','),
        reason:
          'their nodes’ leases expired while these parts were arriving; the study is analysed without them, and again once their nodes declare them',
      });
    }
    const decision = routeStudy(
      mergedFacts(outcome.parts),
      this.options.routes,
      this.options.defaultModels,
      this.options.defaultShadow ?? [],
    );
    if (decision.kind === 'not-routed') {
      this.recordNotRouted(study, decision.reason);
      await assembly.markAssembled(outcome);
      return false;
    }
    const where: Record<string, unknown> =
      this.options.sharedStore === undefined
        ? { files: union.files }
        : { source: sharedSourceFor(this.options.sharedStore, union.sopInstanceUids) };
    if (union.sopInstanceUids.length === 0) {
      // The shared store took none of any part's instances (logged where they were refused).
      await assembly.markAssembled(outcome);
      return false;
    }
    this.options.logger.info('study-assembled', {
      study: tag,
      parts: outcome.parts.length,
      instances: union.sopInstanceUids.length,
    });
    await this.enqueueRuns(queue, study, this.runsOf(decision), decision, where);
    await assembly.markAssembled(outcome);
    return true;
  }

  private runsOf(decision: Exclude<RouteDecision, { kind: 'not-routed' }>): {
    model: string;
    shadow: boolean;
  }[] {
    return [
      ...(decision.kind === 'auto' ? [AUTO_MODEL] : decision.models).map((model) => ({
        model,
        shadow: false,
      })),
      ...decision.shadow.map((model) => ({ model, shadow: true })),
    ];
  }

  private recordNotRouted(study: StableStudy, reason: string): void {
    this.store.db
      .prepare(
        `INSERT INTO not_routed_studies (study_instance_uid, last_received_at, reason, recorded_at)
         VALUES (?, ?, ?, ?) ON CONFLICT (study_instance_uid) DO UPDATE SET
           last_received_at = excluded.last_received_at, reason = excluded.reason,
           recorded_at = excluded.recorded_at`,
      )
      .run(study.studyInstanceUid, study.lastReceivedAt, reason, (this.options.now ?? Date.now)());
    this.options.logger.warn('study-not-routed', {
      study: uidTag(study.studyInstanceUid),
      instances: study.instanceCount,
      reason,
    });
  }

  private logEnqueued(
    study: StableStudy,
    decision: RouteDecision,
    jobs: readonly { model: string; shadow: boolean; job: { id: number }; created: boolean }[],
  ): void {
    for (const { model, shadow, job, created } of jobs) {
      this.options.logger.info(created ? 'job-enqueued' : 'job-exists', {
        study: uidTag(study.studyInstanceUid),
        job: job.id,
        model,
        ...(shadow ? { shadow: true } : {}),
        instances: study.instanceCount,
        rule: decision.kind === 'models' ? String(decision.rule) : 'auto',
      });
    }
  }

  /**
   * Enqueues on a shared queue without an assembly (one node's study as it is, ADR 0183; a
   * node of a cluster declares its part instead). The jobs carry the study's files (absolute
   * paths), or, with a shared store, name the study in the store once it holds it (ADR 0187).
   */
  private async enqueueShared(
    queue: JobQueuePort,
    study: StableStudy,
    instances: readonly InstanceRecord[],
    runs: readonly { model: string; shadow: boolean }[],
    decision: RouteDecision,
  ): Promise<void> {
    const dataDir = resolve(this.options.dataDir ?? this.store.dataDir);
    const files = instances.map((record) => join(dataDir, record.path));
    let where: Record<string, unknown> = { files };
    const store = this.options.sharedStore;
    if (store !== undefined) {
      const stored = await this.toSharedStore(store, study, instances, files);
      if (stored.length === 0) return;
      where = { source: sharedSourceFor(store, stored) };
    }
    await this.enqueueRuns(queue, study, runs, decision, where);
  }

  /** One job per run on a shared queue, each naming where the study is read (`where`). */
  private async enqueueRuns(
    queue: JobQueuePort,
    study: StableStudy,
    runs: readonly { model: string; shadow: boolean }[],
    decision: RouteDecision,
    where: Record<string, unknown>,
  ): Promise<void> {
    const jobs = [];
    for (const { model, shadow } of runs) {
      const { job, created } = await queue.enqueue({
        key: studyJobKey(study.studyInstanceUid, model, study.lastReceivedAt, shadow),
        studyInstanceUid: study.studyInstanceUid,
        model,
        payload: {
          lastReceivedAt: study.lastReceivedAt,
          ...where,
          ...(shadow ? { shadow: true } : {}),
        },
      });
      jobs.push({ model, shadow, job, created });
    }
    // Routed now: it no longer counts as not routed (the study grew, or rules changed).
    this.store.db
      .prepare('DELETE FROM not_routed_studies WHERE study_instance_uid = ?')
      .run(study.studyInstanceUid);
    this.logEnqueued(study, decision, jobs);
    this.options.onEnqueued?.();
  }

  /**
   * Sends the study to the shared store; the SOP Instance UIDs it holds. Unreachable: throws,
   * so the study stays undeclared and is offered again (nothing acknowledged is lost). An
   * instance the store refuses for its content is logged and left out; a study of which the
   * store took nothing gets no job (its originals stay in this node).
   */
  private async toSharedStore(
    store: SharedStore,
    study: StableStudy,
    instances: readonly InstanceRecord[],
    files: readonly string[],
  ): Promise<readonly string[]> {
    const tag = uidTag(study.studyInstanceUid);
    let result;
    try {
      result = await storeStudy(
        store,
        instances.map((record, index) => ({
          file: files[index]!,
          studyInstanceUid: record.studyInstanceUid,
          sopInstanceUid: record.sopInstanceUid,
        })),
      );
    } catch (error) {
      if (isRadiolensError(error) && error.code === 'E_STORE_UNREACHABLE') {
        this.storeFailure ??= { since: (this.options.now ?? Date.now)(), error: '' };
        this.storeFailure.error = describeError(error);
      }
      throw error;
    }
    this.storeFailure = undefined;
    for (const { reason } of result.refused) {
      this.options.logger.error('shared-store-refused-instance', { study: tag, reason });
    }
    if (result.stored.length === 0) {
      this.options.logger.error('study-not-in-shared-store', {
        study: tag,
        instances: instances.length,
        reason: 'the shared store refused every instance; the originals stay in this node',
      });
    }
    return result.stored;
  }

  /**
   * /health's view of the shared store (ADR 0187): degraded while it does not take the
   * studies offered; ingest goes on, the studies wait in the local index.
   */
  sharedStoreCondition(): { condition: string; blocksIngest: false; detail: string } | undefined {
    const failure = this.storeFailure;
    if (failure === undefined) return undefined;
    return {
      condition: 'shared-store-unreachable',
      blocksIngest: false,
      detail: `since ${new Date(failure.since).toISOString()}: ${failure.error}`,
    };
  }

  notRoutedCount(): number {
    const row = this.store.db.prepare('SELECT COUNT(*) AS n FROM not_routed_studies').get() as {
      n: number;
    };
    return row.n;
  }
}
