/**
 * The worklist's priority rule and alert budget (ADR 0178), as one pure function: given every
 * worklist entry, the budget and the time, it returns the rows in reading order, each with the
 * reason for its place. Filters and pages are applied after it, so that what is marked urgent
 * never depends on what the reader filtered.
 */

export type WorklistStatus = 'analysed' | 'failed' | 'answered';

/** The finding that decides an analysis' place: its most decisive label (largest margin). */
export interface DecisiveFinding {
  /** The model's label id (e.g. "pneumonia"). */
  readonly label: string;
  /** The finding's display name (the label's code meaning). */
  readonly meaning: string;
  readonly probability: number;
  /** The model's operating point for the label. */
  readonly threshold: number;
}

/** A caveat of the analysis that bears on the decisive finding's image (ADR 0179). */
export interface RowCaveat {
  /** e.g. `missing-view-position`, `out-of-distribution`; `unclassified` for old analyses. */
  readonly code: string;
  readonly text: string;
  /** Keeps the finding from being prioritised (the analysis' rule or the site's list). */
  readonly demotes: boolean;
}

/** One analysis of one study by one model, as the node knows it. */
export interface WorklistEntry {
  /** The study by its non-PHI key (the audit log's and the answers' key). */
  readonly studyKey: string;
  readonly studyInstanceUid: string;
  /** id@version (for a failed job: what the route named, perhaps a bare id). */
  readonly model: string;
  /** When the study's first instance arrived (ms since the epoch). */
  readonly arrivedAt: number;
  readonly status: WorklistStatus;
  /** null when the analysis failed (there is no finding). */
  readonly finding: DecisiveFinding | null;
  /** The finding's image lies outside the distribution the model knows. */
  readonly outOfDistribution: boolean;
  /**
   * The image carries a caveat, other than out-of-distribution, that says the score should
   * not be trusted on its own (a demoting caveat, ADR 0179): the finding is not prioritised.
   */
  readonly intendedUseCaveat: boolean;
  /** Every caveat on the decisive finding's image, demoting or not, for the reader. */
  readonly caveats: readonly RowCaveat[];
}

export interface AlertBudget {
  /** The most studies marked urgent at once; 0 marks none. */
  readonly maxUrgent: number;
  /** Only studies that arrived within this many hours may be marked urgent. */
  readonly windowHours: number;
}

/**
 * Why a row is where it is. The tiers, in reading order: urgent, actionable (budget reached
 * or older than the alert window), not prioritised (below the operating point, OOD, caveat,
 * failed), answered.
 */
export type WorklistReasonCode =
  | 'urgent'
  | 'actionable-budget-reached'
  | 'actionable-outside-alert-window'
  | 'actionable-study-already-urgent'
  | 'below-operating-point'
  | 'out-of-distribution'
  | 'intended-use-caveat'
  | 'analysis-failed'
  | 'answered';

export interface WorklistRow extends WorklistEntry {
  /** 1-based place in the whole list (before filters and pages). */
  readonly rank: number;
  /** Probability at/above the operating point, in distribution, no caveat, not answered. */
  readonly actionable: boolean;
  readonly urgent: boolean;
  readonly reason: { readonly code: WorklistReasonCode; readonly text: string };
}

const HOUR_MS = 3_600_000;

const TIER: Record<WorklistReasonCode, number> = {
  urgent: 0,
  'actionable-budget-reached': 1,
  'actionable-outside-alert-window': 1,
  'actionable-study-already-urgent': 1,
  'below-operating-point': 2,
  'out-of-distribution': 2,
  'intended-use-caveat': 2,
  'analysis-failed': 2,
  answered: 3,
};

const margin = (entry: WorklistEntry): number =>
  entry.finding === null
    ? Number.NEGATIVE_INFINITY
    : entry.finding.probability - entry.finding.threshold;

/** At or above the operating point, and nothing that says not to trust it. */
export function isActionable(entry: WorklistEntry): boolean {
  return (
    entry.status === 'analysed' &&
    entry.finding !== null &&
    entry.finding.probability >= entry.finding.threshold &&
    !entry.outOfDistribution &&
    !entry.intendedUseCaveat
  );
}

/** A total order on entries: earlier arrival first, then study key, then model (deterministic). */
function byArrival(a: WorklistEntry, b: WorklistEntry): number {
  return (
    a.arrivedAt - b.arrivedAt ||
    (a.studyKey < b.studyKey ? -1 : a.studyKey > b.studyKey ? 1 : 0) ||
    (a.model < b.model ? -1 : a.model > b.model ? 1 : 0)
  );
}

const percent = (value: number): string => value.toFixed(2);

function findingText(finding: DecisiveFinding, relation: '≥' | '<'): string {
  return `${finding.meaning} ${percent(finding.probability)} ${relation} ${percent(finding.threshold)} operating point`;
}

function notPrioritised(entry: WorklistEntry): { code: WorklistReasonCode; text: string } {
  if (entry.status === 'answered') {
    return { code: 'answered', text: 'answered by a radiologist' };
  }
  if (entry.status === 'failed' || entry.finding === null) {
    return { code: 'analysis-failed', text: 'analysis failed: read without AI' };
  }
  if (entry.finding.probability < entry.finding.threshold) {
    return {
      code: 'below-operating-point',
      text: `below operating point: ${findingText(entry.finding, '<')}`,
    };
  }
  if (entry.outOfDistribution) {
    return {
      code: 'out-of-distribution',
      text: `out of distribution: not prioritised (${findingText(entry.finding, '≥')})`,
    };
  }
  const codes = entry.caveats.filter((c) => c.demotes).map((c) => c.code);
  return {
    code: 'intended-use-caveat',
    text: `intended-use caveat${codes.length > 0 ? ` (${codes.join(', ')})` : ''}: not prioritised (${findingText(entry.finding, '≥')})`,
  };
}

/**
 * The rows in reading order. Urgent marks go to open actionable entries that arrived within
 * the alert window, largest margin above the operating point first (ties: earlier arrival,
 * then study key), one per study, at most `maxUrgent`. Within each tier rows are by arrival,
 * earliest first (the longest waiting is read first).
 */
export function orderWorklist(
  entries: readonly WorklistEntry[],
  budget: AlertBudget,
  now: number,
): WorklistRow[] {
  const windowStart = now - budget.windowHours * HOUR_MS;
  const candidates = entries
    .filter((entry) => isActionable(entry) && entry.arrivedAt >= windowStart)
    .sort((a, b) => margin(b) - margin(a) || byArrival(a, b));
  const urgent = new Set<WorklistEntry>();
  const urgentStudies = new Set<string>();
  const refused = new Map<WorklistEntry, WorklistReasonCode>();
  for (const entry of candidates) {
    if (urgentStudies.has(entry.studyKey)) refused.set(entry, 'actionable-study-already-urgent');
    else if (urgent.size >= budget.maxUrgent) refused.set(entry, 'actionable-budget-reached');
    else {
      urgent.add(entry);
      urgentStudies.add(entry.studyKey);
    }
  }
  const placed = entries.map((entry) => {
    const actionable = isActionable(entry);
    let reason: { code: WorklistReasonCode; text: string };
    if (!actionable) reason = notPrioritised(entry);
    else {
      const finding = findingText(entry.finding!, '≥');
      const code = urgent.has(entry)
        ? 'urgent'
        : (refused.get(entry) ?? 'actionable-outside-alert-window');
      const why: Record<string, string> = {
        urgent: `urgent: ${finding}`,
        'actionable-budget-reached': `alert budget reached (${budget.maxUrgent} urgent): ${finding}`,
        'actionable-study-already-urgent': `study already urgent by another model: ${finding}`,
        'actionable-outside-alert-window': `arrived before the ${budget.windowHours} h alert window: ${finding}`,
      };
      reason = { code, text: why[code]! };
    }
    return { entry, actionable, reason };
  });
  placed.sort((a, b) => TIER[a.reason.code] - TIER[b.reason.code] || byArrival(a.entry, b.entry));
  return placed.map(({ entry, actionable, reason }, index) => ({
    ...entry,
    rank: index + 1,
    actionable,
    urgent: reason.code === 'urgent',
    reason,
  }));
}
