/**
 * One job per study across ingest nodes (ADR 0192). Each ingest node keeps its own instance
 * index and stability timer; when one study's instances reach several of them (a load
 * balancer without affinity, a modality retrying to another node, a PACS forwarding in
 * parallel), each holds a *part*. A node reports its part as it arrives (so that another node
 * whose part went quiet knows the study is still arriving elsewhere) and declares it stable
 * when its timer does; under a per-study advisory lock, the declaration that leaves no part
 * still arriving returns the assembly: every ready part, to be enqueued as one job per model
 * that covers their union. A part whose node's lease has expired (dead, stopped, cut off from
 * the database) does not hold the study back: it is left out, and joins a later assembly when
 * its node declares it.
 *
 * The jobs' key carries a receipt time chosen here (`keyTime`): the newest declared receipt of
 * the parts, and if the same study was assembled before from other parts, at least one more
 * than that assembly's. The same parts give the same keyTime again (a restart between the
 * assembly and its enqueue enqueues nothing twice); different parts — a part that grew, or one
 * left out that came back — give new keys, so the study is analysed again, as a study that
 * grows is on the embedded node.
 */
import { createHash } from 'node:crypto';
import { isDeepStrictEqual } from 'node:util';
import { inTransaction, query, type PgPool, type PgQueryable } from './connection.js';

/**
 * What a worker needs to read a part: the SOP Instance UIDs (what a job names in the shared
 * DICOM store, ADR 0187) and, on a shared folder, the absolute path of each, in the same order
 * (ADR 0183).
 */
export interface StudyPartSource {
  readonly sopInstanceUids: readonly string[];
  readonly files?: readonly string[];
}

/** The values routing looks at, gathered over a part's instances (as arrays, for JSON). */
export type PartFacts = Readonly<Record<string, readonly string[]>>;

/** A part as it arrives: how many instances this node holds and its newest receipt (its clock). */
export interface ArrivingPart {
  readonly studyInstanceUid: string;
  readonly instances: number;
  readonly lastReceivedAt: number;
}

/** A part its node's stability timer declared stable, for receipts up to lastReceivedAt. */
export interface StablePart extends ArrivingPart {
  readonly source: StudyPartSource;
  readonly facts: PartFacts;
}

/** A part an assembly covers. */
export interface AssembledPart {
  readonly nodeId: string;
  readonly instances: number;
  /** The newest receipt the part's declaration covers. */
  readonly stableFor: number;
  readonly source: StudyPartSource;
  readonly facts: PartFacts;
}

export type Assembly =
  /** Parts of live nodes are still arriving: their nodes' declarations will assemble it. */
  | { readonly kind: 'waiting'; readonly studyInstanceUid: string; readonly on: readonly string[] }
  /** Nothing ready to assemble (every part left out). */
  | { readonly kind: 'nothing'; readonly studyInstanceUid: string }
  | {
      readonly kind: 'complete';
      readonly studyInstanceUid: string;
      /** The receipt time for the jobs' keys. */
      readonly keyTime: number;
      readonly parts: readonly AssembledPart[];
      /** Nodes whose parts were left out: still arriving, and their lease has expired. */
      readonly leftOut: readonly string[];
    };

/**
 * The class key of the per-study advisory locks (two-key form, whose space is apart from the
 * one-key locks of migrations and retention): the first 4 bytes of sha256('radiolens study
 * assembly') as a signed integer. The second key is hashtext(study UID); two studies that
 * share a hash only wait on each other.
 */
export const ASSEMBLY_LOCK_CLASS = createHash('sha256')
  .update('radiolens study assembly')
  .digest()
  .readInt32BE(0);

/** `$1` when a clock is injected (tests), else the database clock, in ms. */
const CLOCK = `COALESCE($1::bigint, floor(extract(epoch FROM clock_timestamp()) * 1000)::bigint)`;

interface PartRow {
  node_id: string;
  instances: number;
  last_received_at: string;
  stable_for: string | null;
  source: StudyPartSource | null;
  facts: PartFacts | null;
  gone: boolean;
}

interface Signature {
  readonly node: string;
  readonly stableFor: number;
  readonly instances: number;
}

export interface StudyAssemblyOptions {
  /** This ingest node's id (its lease's). */
  readonly nodeId: string;
  /** Clock (tests); default the database's. */
  readonly now?: () => number;
}

export class StudyAssembly {
  constructor(
    private readonly pool: PgPool,
    private readonly options: StudyAssemblyOptions,
  ) {}

  private clock(): number | null {
    return this.options.now?.() ?? null;
  }

  /**
   * Reports parts arriving at this node, in one statement. A report never moves a part back:
   * one older than what the database holds (a declaration overtook it) changes nothing.
   */
  async reportArriving(parts: readonly ArrivingPart[]): Promise<void> {
    if (parts.length === 0) return;
    await query(
      this.pool,
      'reporting study parts',
      `INSERT INTO study_parts (study_instance_uid, node_id, instances, last_received_at, updated_at)
       SELECT p.s, $2, p.n, p.t, ${CLOCK}
       FROM unnest($3::text[], $4::integer[], $5::bigint[]) AS p (s, n, t)
       ON CONFLICT (study_instance_uid, node_id) DO UPDATE SET
         instances = EXCLUDED.instances, last_received_at = EXCLUDED.last_received_at,
         updated_at = EXCLUDED.updated_at
       WHERE (EXCLUDED.last_received_at, EXCLUDED.instances)
           > (study_parts.last_received_at, study_parts.instances)`,
      [
        this.clock(),
        this.options.nodeId,
        parts.map((p) => p.studyInstanceUid),
        parts.map((p) => p.instances),
        parts.map((p) => p.lastReceivedAt),
      ],
    );
  }

  /**
   * Marks this node's part stable and, under the study's lock, assembles the study: 'complete'
   * when no live node's part is still arriving (the caller enqueues, then markAssembled).
   */
  async declareStable(part: StablePart): Promise<Assembly> {
    return inTransaction(this.pool, 'declaring a study part stable', async (client) => {
      await lockStudy(client, part.studyInstanceUid);
      await query(
        client,
        'declaring a study part stable',
        `INSERT INTO study_parts (study_instance_uid, node_id, instances, last_received_at,
           stable_for, source, facts, updated_at)
         VALUES ($2, $3, $4, $5, $5, $6, $7, ${CLOCK})
         ON CONFLICT (study_instance_uid, node_id) DO UPDATE SET
           instances = CASE WHEN EXCLUDED.last_received_at >= study_parts.last_received_at
             THEN EXCLUDED.instances ELSE study_parts.instances END,
           last_received_at = GREATEST(study_parts.last_received_at, EXCLUDED.last_received_at),
           source = CASE WHEN EXCLUDED.stable_for >= COALESCE(study_parts.stable_for, 0)
             THEN EXCLUDED.source ELSE study_parts.source END,
           facts = CASE WHEN EXCLUDED.stable_for >= COALESCE(study_parts.stable_for, 0)
             THEN EXCLUDED.facts ELSE study_parts.facts END,
           stable_for = GREATEST(COALESCE(study_parts.stable_for, 0), EXCLUDED.stable_for),
           updated_at = EXCLUDED.updated_at`,
        [
          this.clock(),
          part.studyInstanceUid,
          this.options.nodeId,
          part.instances,
          part.lastReceivedAt,
          JSON.stringify(part.source),
          JSON.stringify(part.facts),
        ],
      );
      return this.assembleLocked(client, part.studyInstanceUid);
    });
  }

  /** Assembles a study under its lock without declaring anything (the sweep). */
  async assemble(studyInstanceUid: string): Promise<Assembly> {
    return inTransaction(this.pool, 'assembling a study', async (client) => {
      await lockStudy(client, studyInstanceUid);
      return this.assembleLocked(client, studyInstanceUid);
    });
  }

  private async assembleLocked(client: PgQueryable, studyInstanceUid: string): Promise<Assembly> {
    const rows = (
      await query<PartRow>(
        client,
        'reading study parts',
        `SELECT p.node_id, p.instances, p.last_received_at, p.stable_for, p.source, p.facts,
           (n.node_id IS NULL OR n.lease_expires_at <= ${CLOCK}) AS gone
         FROM study_parts p LEFT JOIN nodes n ON n.node_id = p.node_id
         WHERE p.study_instance_uid = $2 ORDER BY p.node_id`,
        [this.clock(), studyInstanceUid],
      )
    ).rows;
    const ready = (row: PartRow): boolean =>
      row.stable_for !== null &&
      row.source !== null &&
      Number(row.stable_for) >= Number(row.last_received_at);
    const arriving = rows.filter((row) => !ready(row));
    // This node is alive (it is asking); another's part holds the study while its lease does.
    const on = arriving
      .filter((row) => !row.gone || row.node_id === this.options.nodeId)
      .map((row) => row.node_id);
    if (on.length > 0) return { kind: 'waiting', studyInstanceUid, on };
    const parts: AssembledPart[] = rows.filter(ready).map((row) => ({
      nodeId: row.node_id,
      instances: row.instances,
      stableFor: Number(row.stable_for),
      source: row.source!,
      facts: row.facts ?? {},
    }));
    if (parts.length === 0) return { kind: 'nothing', studyInstanceUid };
    const signature: Signature[] = parts.map((p) => ({
      node: p.nodeId,
      stableFor: p.stableFor,
      instances: p.instances,
    }));
    const previous = (
      await query<{ key_time: string; parts: Signature[] }>(
        client,
        'reading a study assembly',
        'SELECT key_time, parts FROM study_assemblies WHERE study_instance_uid = $1',
        [studyInstanceUid],
      )
    ).rows[0];
    let keyTime: number;
    if (previous !== undefined && isDeepStrictEqual(previous.parts, signature)) {
      keyTime = Number(previous.key_time);
    } else {
      const newest = Math.max(...parts.map((p) => p.stableFor));
      // Other parts than last time: new keys, even if no part has a newer receipt (a part left
      // out that came back, or hosts whose clocks disagree).
      keyTime = previous === undefined ? newest : Math.max(newest, Number(previous.key_time) + 1);
      await query(
        client,
        'recording a study assembly',
        `INSERT INTO study_assemblies (study_instance_uid, key_time, parts, assembled_by, assembled_at)
         VALUES ($2, $3, $4, $5, ${CLOCK})
         ON CONFLICT (study_instance_uid) DO UPDATE SET key_time = EXCLUDED.key_time,
           parts = EXCLUDED.parts, assembled_by = EXCLUDED.assembled_by,
           assembled_at = EXCLUDED.assembled_at`,
        [this.clock(), studyInstanceUid, keyTime, JSON.stringify(signature), this.options.nodeId],
      );
    }
    return {
      kind: 'complete',
      studyInstanceUid,
      keyTime,
      parts,
      leftOut: arriving.map((row) => row.node_id),
    };
  }

  /**
   * Records that jobs covering an assembly's parts are enqueued (or that it was not routed):
   * a part that changed since is left as it is, to be assembled again.
   */
  async markAssembled(assembly: Extract<Assembly, { kind: 'complete' }>): Promise<void> {
    await query(
      this.pool,
      'marking study parts assembled',
      `UPDATE study_parts p SET assembled_for = p.stable_for, updated_at = ${CLOCK}
       FROM unnest($3::text[], $4::bigint[]) AS a (node, stable_for)
       WHERE p.study_instance_uid = $2 AND p.node_id = a.node AND p.stable_for = a.stable_for`,
      [
        this.clock(),
        assembly.studyInstanceUid,
        assembly.parts.map((p) => p.nodeId),
        assembly.parts.map((p) => p.stableFor),
      ],
    );
  }

  /**
   * Studies in which this node holds a ready part that no enqueued assembly covers, and no live
   * node's part is arriving: what was left when the node that would have assembled them died,
   * or this node stopped between an assembly and its enqueue.
   */
  async unassembled(limit = 100): Promise<string[]> {
    const result = await query<{ study_instance_uid: string }>(
      this.pool,
      'looking for unassembled study parts',
      `SELECT p.study_instance_uid FROM study_parts p
       WHERE p.node_id = $2 AND p.stable_for >= p.last_received_at
         AND (p.assembled_for IS NULL OR p.assembled_for < p.stable_for)
         AND NOT EXISTS (
           SELECT 1 FROM study_parts o JOIN nodes n ON n.node_id = o.node_id
           WHERE o.study_instance_uid = p.study_instance_uid AND o.node_id <> $2
             AND (o.stable_for IS NULL OR o.stable_for < o.last_received_at)
             AND n.lease_expires_at > ${CLOCK})
       ORDER BY p.updated_at LIMIT $3`,
      [this.clock(), this.options.nodeId, limit],
    );
    return result.rows.map((row) => row.study_instance_uid);
  }
}

async function lockStudy(client: PgQueryable, studyInstanceUid: string): Promise<void> {
  await query(
    client,
    'waiting for the study assembly lock',
    'SELECT pg_advisory_xact_lock($1::integer, hashtext($2))',
    [ASSEMBLY_LOCK_CLASS, studyInstanceUid],
  );
}

/**
 * The union of an assembly's parts: each SOP Instance once (a modality that retried to another
 * node sends both some of the same instances), with its file where the parts carry files.
 */
export function assembledInstances(parts: readonly AssembledPart[]): {
  sopInstanceUids: string[];
  files: string[];
} {
  const seen = new Set<string>();
  const sopInstanceUids: string[] = [];
  const files: string[] = [];
  for (const part of parts) {
    part.source.sopInstanceUids.forEach((uid, index) => {
      if (seen.has(uid)) return;
      seen.add(uid);
      sopInstanceUids.push(uid);
      const file = part.source.files?.[index];
      if (file !== undefined) files.push(file);
    });
  }
  return { sopInstanceUids, files };
}

/**
 * Retention of parts (ADR 0192): a part assembled and untouched for `assembledMs`, or any part
 * untouched for `anyMs` (one whose node never came back), in batches; then the assemblies
 * without parts older than `assembledMs`. A node that declares a removed part again makes it
 * anew. Returns the parts removed (or that would be, in a dry run).
 */
export async function pruneStudyParts(
  db: PgQueryable,
  options: {
    readonly at: number;
    readonly assembledMs: number;
    readonly anyMs: number;
    readonly batch: number;
    readonly dryRun: boolean;
  },
): Promise<{ removed: number; batches: number }> {
  const assembledCutoff = options.at - options.assembledMs;
  const anyCutoff = options.at - options.anyMs;
  const which = `updated_at < $1 AND (assembled_for >= last_received_at OR updated_at < $2)`;
  if (options.dryRun) {
    const counted = await query<{ n: string }>(
      db,
      'counting study parts to prune',
      `SELECT count(*) AS n FROM study_parts WHERE ${which}`,
      [assembledCutoff, anyCutoff],
    );
    return { removed: Number(counted.rows[0]?.n ?? 0), batches: 1 };
  }
  let removed = 0;
  let batches = 0;
  for (;;) {
    const result = await query(
      db,
      'pruning study parts',
      `DELETE FROM study_parts WHERE (study_instance_uid, node_id) IN (
         SELECT study_instance_uid, node_id FROM study_parts WHERE ${which} LIMIT $3)`,
      [assembledCutoff, anyCutoff, options.batch],
    );
    batches += 1;
    removed += result.rowCount ?? 0;
    if ((result.rowCount ?? 0) < options.batch) break;
  }
  await query(
    db,
    'pruning study assemblies',
    `DELETE FROM study_assemblies a WHERE assembled_at < $1
       AND NOT EXISTS (SELECT 1 FROM study_parts p WHERE p.study_instance_uid = a.study_instance_uid)`,
    [assembledCutoff],
  );
  return { removed, batches };
}
