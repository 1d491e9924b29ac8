/**
 * The caveats of an analysis as the reading room shows them: analysis.json's `caveats`
 * (`[{ code, image, text, demotes }]`, ADR 0179), a code also demoting when the site lists it
 * (`worklist.demoteOnCaveats`); for a summary written before coded caveats, derived from its
 * `warnings` ("image <SOP Instance UID>: <text>" or study-wide text), coded by what they say
 * and demoting as the worklist reads them (an image's warning demotes; a study-wide one not).
 */
export interface Caveat {
  readonly code: string;
  /** The image it is about (SOP Instance UID), or null for the study. */
  readonly image: string | null;
  readonly text: string;
  /** Whether it takes the finding out of the worklist's actionable ordering (OOD does). */
  readonly demotes: boolean;
}

const CODES: readonly [RegExp, string][] = [
  [/out[- ]of[- ]distribution|OOD/i, 'out-of-distribution'],
  [/ViewPosition|view position/i, 'missing-view-position'],
  [/BodyPartExamined|body part/i, 'missing-body-part'],
  [/lung/i, 'lungs-not-placed'],
];

function fromWarning(warning: string): Caveat {
  const match = /^image ([0-9.]+): ([\s\S]*)$/.exec(warning);
  const text = match?.[2] ?? warning;
  const code = CODES.find(([pattern]) => pattern.test(text))?.[1] ?? 'unclassified';
  return { code, image: match?.[1] ?? null, text, demotes: match !== null };
}

function isCaveat(value: unknown): value is Caveat {
  const c = value as Partial<Caveat> | null;
  return (
    typeof c === 'object' &&
    c !== null &&
    typeof c.code === 'string' &&
    typeof c.text === 'string' &&
    (c.image === null || typeof c.image === 'string')
  );
}

export function caveatsOf(
  summary: { caveats?: unknown; warnings?: unknown },
  demoteAlso: ReadonlySet<string> = new Set(),
): Caveat[] {
  if (Array.isArray(summary.caveats)) {
    return summary.caveats.filter(isCaveat).map((c) => ({
      code: c.code,
      image: c.image ?? null,
      text: c.text,
      demotes: c.demotes === true || demoteAlso.has(c.code),
    }));
  }
  return Array.isArray(summary.warnings)
    ? summary.warnings.filter((w): w is string => typeof w === 'string').map(fromWarning)
    : [];
}
