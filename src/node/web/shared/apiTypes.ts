/**
 * The shapes of the node's JSON answers that the reading-room pages read: the worklist
 * (ADR 0178), the session, the audit log, and the study context and models APIs (the
 * contract with the OHIF helper, issue #13). Browser and server both compile this file; it
 * holds types only. Fields a page does not read are left out; extra fields are ignored.
 */

export interface SessionInfo {
  readonly user: string;
  readonly role: string;
  readonly csrfToken: string;
  readonly expiresAt: string;
}

export interface WorklistRow {
  readonly rank: number;
  readonly urgent: boolean;
  readonly actionable: boolean;
  readonly reason: { readonly code: string; readonly text: string };
  readonly status: string;
  readonly studyKey: string;
  readonly model: string;
  readonly finding: { readonly label: string; readonly meaning: string } | null;
  readonly probability: number | null;
  readonly threshold: number | null;
  readonly outOfDistribution: boolean;
  readonly intendedUseCaveat: boolean;
  /** The analysis's coded caveats about the decisive finding's image (ADR 0179). */
  readonly caveats?: readonly Caveat[];
  readonly arrivedAt: string;
}

export interface WorklistAnswer {
  readonly generatedAt: string;
  readonly alertBudget: {
    readonly maxUrgent: number;
    readonly windowHours: number;
    readonly urgent: number;
  };
  readonly total: number;
  readonly offset: number;
  readonly limit: number;
  readonly rows: readonly WorklistRow[];
}

/** A value with its confidence interval (site validation). */
export interface Estimate {
  readonly value: number;
  readonly low?: number | null;
  readonly high?: number | null;
}

export interface SiteValidation {
  readonly source: string;
  readonly date: string | null;
  readonly images: number;
  readonly patients?: number | null;
  readonly auc?: Estimate | null;
  readonly sensitivity?: Estimate | null;
  readonly specificity?: Estimate | null;
  readonly threshold?: number | null;
  readonly ci?: string | null;
}

export interface Caveat {
  readonly code: string;
  readonly image: string | null;
  readonly text: string;
  readonly demotes?: boolean;
}

/** A coded finding (the SR's concept), when the context API gives it. */
export interface FindingCode {
  readonly value: string;
  readonly scheme: string;
  readonly meaning: string;
}

export interface ContextFinding {
  /** The image the finding is about. */
  readonly sopInstanceUid: string;
  readonly label: string;
  readonly meaning: string;
  readonly probability: number;
  readonly threshold: number;
  readonly present: boolean;
  readonly heatmapInLungs?: number | null;
  readonly ood?: { readonly flagged: boolean; readonly text: string | null } | null;
  /** Extra fields the feedback record needs (the SR that carried the finding, its code). */
  readonly code?: FindingCode | null;
  readonly srSopInstanceUid?: string | null;
}

export interface ContextAnalysis {
  readonly model: { readonly id: string; readonly version: string; readonly name?: string };
  readonly performedAt: string | null;
  readonly intendedUse?: { readonly summary?: string; readonly notFor?: readonly string[] } | null;
  readonly caveats?: readonly Caveat[];
  readonly findings: readonly ContextFinding[];
  readonly siteValidation: SiteValidation | null;
  /** The SR of this analysis, when the context API names it once per analysis. */
  readonly sr?: { readonly sopInstanceUid: string } | null;
  readonly answers?: readonly {
    readonly label: string;
    readonly answer: string;
    readonly answeredAt: string;
  }[];
}

export interface StudyContext {
  readonly studyKey: string;
  readonly studyInstanceUid: string;
  readonly viewer: {
    readonly available: boolean;
    readonly url: string | null;
    readonly remedy: string | null;
  };
  readonly analyses: readonly ContextAnalysis[];
}

export interface ModelSummary {
  readonly id: string;
  readonly version: string;
  readonly name?: string;
  readonly task?: string;
  readonly active?: boolean;
  readonly routes?: readonly string[];
}

export interface ModelDetail extends ModelSummary {
  readonly manufacturer?: string;
  readonly intendedUse?: Record<string, unknown> | null;
  readonly labels?: readonly {
    readonly id: string;
    readonly meaning?: string;
    readonly threshold?: number;
  }[];
  readonly card?: { readonly markdown: string } | null;
  readonly lineage?: {
    readonly datasets?: readonly {
      readonly name: string;
      readonly version?: string;
      readonly sha256?: string;
    }[];
    readonly trainingRun?: Record<string, unknown> | null;
    readonly parent?: string | null;
  } | null;
  readonly validationReports?: readonly (SiteValidation & Record<string, unknown>)[];
}

export interface AuditEntryView {
  readonly seq: number;
  readonly at: string;
  readonly actor: string;
  readonly action: string;
  readonly subject: string;
  readonly details: Record<string, unknown>;
}

export interface AuditAnswer {
  readonly verification: { readonly ok: boolean; readonly [field: string]: unknown };
  readonly entries: readonly AuditEntryView[];
}
