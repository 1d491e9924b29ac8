/**
 * The worklist's entries from the node's own records: the latest live (clinical) analysis of
 * each study by each model (the analysis log and its analysis.json), failed analysis jobs,
 * the radiologists' answers, and when each study's first instance arrived. Shadow analyses
 * are never on the worklist (ADR 0088). Nothing here is written; the worklist is a view.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { NodeDatabase } from '../store/index.js';
import { ensureFeedbackSchema } from '../feedback/index.js';
import type { DecisiveFinding, RowCaveat, WorklistEntry } from './worklistOrder.js';
import { CLUSTER_FAILURES_TABLE } from './clusterFailures.js';

/** The parts of analysis.json (studySummary) the worklist reads. */
interface SummaryFinding {
  readonly sopInstanceUid: string;
  readonly label: string;
  readonly code?: { readonly meaning?: string };
  readonly probability: number;
  readonly threshold: number;
  readonly ood?: { readonly flagged?: boolean } | null;
}
/** A coded caveat (ADR 0179); analysis.json files written before it carry only `warnings`. */
interface SummaryCaveat {
  readonly code: string;
  readonly image: string | null;
  readonly text: string;
  readonly demotes: boolean;
}
interface Summary {
  readonly findings?: readonly SummaryFinding[];
  readonly warnings?: readonly string[];
  readonly caveats?: readonly SummaryCaveat[];
}

interface AnalysisRow {
  job_id: number;
  study_instance_uid: string;
  model: string;
  completed_at: number;
  summary_path: string;
}

/** A failed job as the worklist reads it, from either table. */
interface FailedRow {
  study_instance_uid: string;
  model: string;
  /** 1 for a shadow job (never on the worklist). */
  shadow: number | null;
}

const modelIdOf = (ref: string): string => {
  const at = ref.lastIndexOf('@');
  return at <= 0 ? ref : ref.slice(0, at);
};

export interface WorklistSourceOptions {
  readonly dataDir: string;
  /** The study's non-PHI key (the audit log's HMAC, ADR 0176). */
  readonly studyKeyOf: (studyInstanceUid: string) => string;
  /**
   * Caveat codes that keep a finding from being prioritised on this site besides those the
   * analysis marked `demotes` (config `worklist.demoteOnCaveats`, ADR 0179).
   */
  readonly demoteOnCaveats?: readonly string[];
}

/** What one analysis.json says for the worklist: its decisive finding and its flags. */
interface Decided {
  readonly finding: DecisiveFinding | null;
  readonly outOfDistribution: boolean;
  readonly intendedUseCaveat: boolean;
  readonly caveats: readonly RowCaveat[];
}

const NOTHING_DECIDED: Decided = {
  finding: null,
  outOfDistribution: false,
  intendedUseCaveat: false,
  caveats: [],
};

/**
 * The caveats that bear on one image: its own and the study's. A summary from before coded
 * caveats (ADR 0179) has only warning lines; each of the image's lines other than the OOD
 * caveat is then taken as demoting, as the worklist did before (ADR 0178), because its
 * meaning cannot be told from its wording.
 */
function caveatsOf(
  summary: Summary,
  sopInstanceUid: string,
  ood: boolean,
  demoteAlso: ReadonlySet<string>,
): RowCaveat[] {
  if (summary.caveats !== undefined) {
    return summary.caveats
      .filter((c) => c.image === null || c.image === sopInstanceUid)
      .map((c) => ({
        code: c.code,
        text: c.text,
        demotes: c.demotes || demoteAlso.has(c.code),
      }));
  }
  const prefix = `image ${sopInstanceUid}: `;
  const lines = (summary.warnings ?? []).filter((w) => w.startsWith(prefix));
  // Legacy: the OOD caveat is one of the lines when the image is flagged (its own flag).
  return lines.slice(ood ? 1 : 0).map((line) => ({
    code: 'unclassified',
    text: line.slice(prefix.length),
    demotes: true,
  }));
}

/**
 * The most decisive finding of an analysis: the one furthest above (or least below) its
 * operating point, so that a study is placed by its strongest finding.
 */
export function decide(summary: Summary, demoteAlso: ReadonlySet<string> = new Set()): Decided {
  let best: SummaryFinding | undefined;
  for (const finding of summary.findings ?? []) {
    if (
      best === undefined ||
      finding.probability - finding.threshold > best.probability - best.threshold
    ) {
      best = finding;
    }
  }
  if (best === undefined) return NOTHING_DECIDED;
  const ood = best.ood?.flagged === true;
  const caveats = caveatsOf(summary, best.sopInstanceUid, ood, demoteAlso);
  return {
    finding: {
      label: best.label,
      meaning: best.code?.meaning ?? best.label,
      probability: best.probability,
      threshold: best.threshold,
    },
    outOfDistribution: ood,
    // The OOD flag has its own place in the order; any other demoting caveat is this one.
    intendedUseCaveat: caveats.some((c) => c.demotes && c.code !== 'out-of-distribution'),
    caveats,
  };
}

export class WorklistSource {
  /** analysis.json files never change once written: read each once. */
  private readonly decided = new Map<string, Decided>();
  private readonly demoteAlso: ReadonlySet<string>;

  constructor(
    private readonly db: NodeDatabase,
    private readonly options: WorklistSourceOptions,
  ) {
    ensureFeedbackSchema(db);
    this.demoteAlso = new Set(options.demoteOnCaveats ?? []);
  }

  /**
   * `answered` (`<studyKey>|<model id>`) comes from wherever the answers are kept; without it,
   * from this node database's feedback table (the embedded node).
   */
  entries(answered?: ReadonlySet<string>): WorklistEntry[] {
    const hasTable = (name: string): boolean =>
      this.db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?").get(name) !==
      undefined;
    const hasAnalyses = hasTable('analyses');
    const analyses = hasAnalyses
      ? (this.db
          .prepare(
            `SELECT job_id, study_instance_uid, model, completed_at, summary_path FROM analyses
             WHERE mode = 'clinical' ORDER BY completed_at, job_id`,
          )
          .all() as AnalysisRow[])
      : [];
    // The latest analysis of each study by each model id (a new version replaces the old).
    const latest = new Map<string, AnalysisRow>();
    for (const row of analyses)
      latest.set(`${row.study_instance_uid}|${modelIdOf(row.model)}`, row);
    // Failed jobs: the embedded node's own job table; on a shared database the queue is in
    // PostgreSQL (ADR 0183) and the node keeps a copy of its studies' failures (ADR 0189).
    const failed = [
      ...(hasTable('jobs')
        ? (this.db
            .prepare(
              `SELECT study_instance_uid, model, json_extract(payload, '$.shadow') = 1 AS shadow
               FROM jobs WHERE state = 'failed' ORDER BY id`,
            )
            .all() as FailedRow[])
        : []),
      ...(hasTable(CLUSTER_FAILURES_TABLE)
        ? (this.db
            .prepare(
              `SELECT study_instance_uid, model, shadow FROM ${CLUSTER_FAILURES_TABLE} ORDER BY job_id`,
            )
            .all() as FailedRow[])
        : []),
    ];
    const arrival = this.db.prepare(
      'SELECT MIN(received_at) AS at FROM instances WHERE study_instance_uid = ?',
    );
    const answeredPairs =
      answered ??
      new Set(
        (
          this.db.prepare('SELECT DISTINCT study_key, model_id FROM feedback').all() as {
            study_key: string;
            model_id: string;
          }[]
        ).map((row) => `${row.study_key}|${row.model_id}`),
      );
    const arrivedAt = (uid: string, fallback: number): number =>
      (arrival.get(uid) as { at: number | null }).at ?? fallback;

    const entries: WorklistEntry[] = [];
    for (const row of latest.values()) {
      const studyKey = this.options.studyKeyOf(row.study_instance_uid);
      const decided = this.decide(row.summary_path);
      entries.push({
        studyKey,
        studyInstanceUid: row.study_instance_uid,
        model: row.model,
        arrivedAt: arrivedAt(row.study_instance_uid, row.completed_at),
        status: answeredPairs.has(`${studyKey}|${modelIdOf(row.model)}`) ? 'answered' : 'analysed',
        ...decided,
      });
    }
    const failedSeen = new Set<string>();
    for (const job of failed) {
      if (job.shadow === 1) continue;
      const key = `${job.study_instance_uid}|${modelIdOf(job.model)}`;
      // A later success of the same model supersedes the failure; one row per failure pair.
      if (latest.has(key) || failedSeen.has(key)) continue;
      failedSeen.add(key);
      entries.push({
        studyKey: this.options.studyKeyOf(job.study_instance_uid),
        studyInstanceUid: job.study_instance_uid,
        model: job.model,
        arrivedAt: arrivedAt(job.study_instance_uid, 0),
        status: 'failed',
        ...NOTHING_DECIDED,
      });
    }
    return entries;
  }

  private decide(summaryPath: string): Decided {
    const known = this.decided.get(summaryPath);
    if (known !== undefined) return known;
    let decided: Decided;
    try {
      decided = decide(
        JSON.parse(readFileSync(join(this.options.dataDir, summaryPath), 'utf8')) as Summary,
        this.demoteAlso,
      );
    } catch {
      // A missing or unreadable summary: no finding to place by, so it is not prioritised.
      return NOTHING_DECIDED;
    }
    this.decided.set(summaryPath, decided);
    return decided;
  }
}
