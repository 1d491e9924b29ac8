/**
 * A study's findings in context, for the reading room's panel beside the viewer (issue #13
 * Deliver 3; ADR 0197): for the latest clinical analysis of the study by each model — the
 * analysis log and its analysis.json, as the worklist reads them (ADR 0178) — the model and
 * its intended use (manifest), the caveats, each finding with its operating point, OOD flag
 * and the heatmap's series in the node's store, the site's validated performance of that
 * model version when a report is registered, and the answers already given. Shadow analyses
 * are never shown (ADR 0088). Nothing here is written.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ModelRegistry, RegistryEntry } from '../../inference/models/index.js';
import type { FeedbackPort } from '../feedback/index.js';
import {
  siteValidationDir,
  validationReportsIn,
  type ValidationSummary,
} from '../modelCatalog/index.js';
import type { NodeDatabase } from '../store/index.js';
import { caveatsOf, type Caveat } from './caveats.js';

interface AnalysisRow {
  study_instance_uid: string;
  model: string;
  completed_at: number;
  summary_path: string;
}

interface SummaryArtifact {
  readonly kind: string;
  readonly dicom?: { readonly sopInstanceUid: string; readonly seriesInstanceUid: string };
  readonly sourceSopInstanceUid?: string;
}
interface SummaryFinding {
  readonly sopInstanceUid: string;
  readonly label: string;
  readonly code?: { readonly value?: string; readonly scheme?: string; readonly meaning?: string };
  readonly probability: number;
  readonly threshold: number;
  readonly present?: boolean;
  readonly ood?: { readonly flagged?: boolean } | null;
  readonly lungField?: { readonly energyInside?: number | null } | null;
}
interface Summary {
  readonly model?: { readonly id: string; readonly version: string } | null;
  readonly performedAt?: string | null;
  readonly findings?: readonly SummaryFinding[];
  readonly warnings?: readonly string[];
  readonly caveats?: unknown;
  readonly artifacts?: readonly SummaryArtifact[];
}

export interface StudyContextOptions {
  readonly dataDir: string;
  readonly registry: ModelRegistry;
  readonly feedback: FeedbackPort;
  /** The study's non-PHI key (the audit log's HMAC, ADR 0176). */
  readonly studyKeyOf: (studyInstanceUid: string) => string;
  /** Caveat codes the site demotes besides those the analysis marked (ADR 0179). */
  readonly demoteOnCaveats?: readonly string[];
  /** Whether the OHIF Viewer is installed, and the command that installs it. */
  readonly viewer: { readonly available: () => boolean; readonly remedy: string };
}

const modelIdOf = (ref: string): string => {
  const at = ref.lastIndexOf('@');
  return at <= 0 ? ref : ref.slice(0, at);
};

export class StudyContextSource {
  /** Study key → UID, filled as studies are seen (a key cannot be turned back into a UID). */
  private readonly keys = new Map<string, string>();
  /** The studies whose keys are in `keys`: an unknown key costs a key per new study only. */
  private readonly seen = new Set<string>();

  constructor(
    private readonly db: NodeDatabase,
    private readonly options: StudyContextOptions,
  ) {}

  /** The UID of the stored study with this key, or undefined. */
  studyOf(studyKey: string): string | undefined {
    const known = this.keys.get(studyKey);
    if (known !== undefined) return known;
    const uids = this.db
      .prepare('SELECT DISTINCT study_instance_uid AS uid FROM instances')
      .all() as { uid: string }[];
    for (const { uid } of uids) {
      if (this.seen.has(uid)) continue;
      this.seen.add(uid);
      this.keys.set(this.options.studyKeyOf(uid), uid);
    }
    return this.keys.get(studyKey);
  }

  private latestAnalyses(studyInstanceUid: string): AnalysisRow[] {
    const hasAnalyses = this.db
      .prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'analyses'")
      .get();
    if (!hasAnalyses) return [];
    const rows = this.db
      .prepare(
        `SELECT study_instance_uid, model, completed_at, summary_path FROM analyses
         WHERE mode = 'clinical' AND study_instance_uid = ? ORDER BY completed_at, job_id`,
      )
      .all(studyInstanceUid) as AnalysisRow[];
    // The latest analysis by each model id (a new version replaces the old, as on the worklist).
    const latest = new Map<string, AnalysisRow>();
    for (const row of rows) latest.set(modelIdOf(row.model), row);
    return [...latest.values()];
  }

  /** The context of the study with this key; undefined when the node has no such study. */
  async context(studyKey: string): Promise<object | undefined> {
    const uid = this.studyOf(studyKey);
    if (uid === undefined) return undefined;
    const entries = await this.options.registry.list();
    const analyses = [];
    for (const row of this.latestAnalyses(uid)) {
      analyses.push(await this.analysis(studyKey, row, entries));
    }
    const available = this.options.viewer.available();
    return {
      studyKey,
      studyInstanceUid: uid,
      viewer: {
        available,
        url: `/ohif/viewer?StudyInstanceUIDs=${encodeURIComponent(uid)}`,
        remedy: available ? null : this.options.viewer.remedy,
      },
      analyses,
    };
  }

  private async analysis(
    studyKey: string,
    row: AnalysisRow,
    entries: readonly RegistryEntry[],
  ): Promise<object> {
    let summary: Summary = {};
    let problem: string | null = null;
    try {
      summary = JSON.parse(
        readFileSync(join(this.options.dataDir, row.summary_path), 'utf8'),
      ) as Summary;
    } catch (error) {
      problem = `the analysis summary cannot be read: ${(error as Error).message}`;
    }
    const ref = row.model;
    const at = ref.lastIndexOf('@');
    const id = summary.model?.id ?? modelIdOf(ref);
    const version = summary.model?.version ?? (at > 0 ? ref.slice(at + 1) : '');
    const manifest = entries.find((e) => e.id === id && e.version === version)?.manifest;
    const artifacts = summary.artifacts ?? [];
    const seriesOf = (
      kind: string,
      sop: string,
    ): { seriesInstanceUid: string; sopInstanceUid: string } | null => {
      const artifact = artifacts.find((a) => a.kind === kind && a.sourceSopInstanceUid === sop);
      return artifact?.dicom === undefined
        ? null
        : {
            seriesInstanceUid: artifact.dicom.seriesInstanceUid,
            sopInstanceUid: artifact.dicom.sopInstanceUid,
          };
    };
    const caveats: Caveat[] = caveatsOf(summary, new Set(this.options.demoteOnCaveats ?? []));
    const sr = artifacts.find((a) => a.kind === 'sr')?.dicom;
    const findings = (summary.findings ?? []).map((f) => {
      const flagged = f.ood?.flagged === true;
      const oodCaveat = caveats.find(
        (c) => c.image === f.sopInstanceUid && c.code === 'out-of-distribution',
      );
      return {
        sopInstanceUid: f.sopInstanceUid,
        label: f.label,
        meaning: f.code?.meaning ?? f.label,
        // The SR's coded concept: the reading room's answer records it (POST /api/feedback).
        code:
          f.code?.value === undefined || f.code.scheme === undefined
            ? null
            : { value: f.code.value, scheme: f.code.scheme, meaning: f.code.meaning ?? f.label },
        probability: f.probability,
        threshold: f.threshold,
        present: f.present ?? f.probability >= f.threshold,
        heatmapInLungs: f.lungField?.energyInside ?? null,
        ood: {
          flagged,
          text: flagged
            ? (oodCaveat?.text ??
              'the image lies outside the distribution the model was trained on: treat the finding with caution')
            : null,
        },
        heatmap: seriesOf('sc', f.sopInstanceUid),
        parametricMap: seriesOf('parametric-map', f.sopInstanceUid),
      };
    });
    const label = findings[0]?.label ?? manifest?.labels[0]?.id;
    const site: ValidationSummary | undefined = (
      await validationReportsIn(
        siteValidationDir(this.options.dataDir, id, version),
        { id, version },
        'site',
        label,
      )
    )[0];
    const answers = (
      await this.options.feedback.list({ studyKey, modelId: id, modelVersion: version })
    ).map((a) => ({
      label: a.finding.labelId,
      answer: a.answer,
      answeredAt: new Date(a.answeredAt).toISOString(),
      ...(a.correctLabel === undefined ? {} : { correctLabel: a.correctLabel }),
      sourceSopInstanceUid: a.sourceSopInstanceUid,
      user: a.userId,
    }));
    return {
      model: { id, version, name: manifest?.name ?? null },
      performedAt: summary.performedAt ?? new Date(row.completed_at).toISOString(),
      intendedUse:
        manifest === undefined
          ? null
          : { summary: manifest.intendedUse.summary, notFor: manifest.intendedUse.notFor },
      caveats,
      findings,
      sr:
        sr === undefined
          ? null
          : { seriesInstanceUid: sr.seriesInstanceUid, sopInstanceUid: sr.sopInstanceUid },
      siteValidation: site === undefined ? null : site,
      answers,
      ...(problem === null ? {} : { problem }),
    };
  }
}
