/**
 * The caveats of an analysis as the reading room shows them: analysis.json's `caveats`
 * (`[{ code, image, text, demotes }]`) when it has them, otherwise derived from its
 * `warnings` ("image <SOP Instance UID>: <text>" or study-wide text), coded by what they say.
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
  const code = CODES.find(([pattern]) => pattern.test(text))?.[1] ?? 'warning';
  return { code, image: match?.[1] ?? null, text, demotes: code === 'out-of-distribution' };
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

export function caveatsOf(summary: { caveats?: unknown; warnings?: unknown }): Caveat[] {
  if (Array.isArray(summary.caveats)) {
    return summary.caveats.filter(isCaveat).map((c) => ({
      code: c.code,
      image: c.image ?? null,
      text: c.text,
      demotes: c.demotes === true,
    }));
  }
  return Array.isArray(summary.warnings)
    ? summary.warnings.filter((w): w is string => typeof w === 'string').map(fromWarning)
    : [];
}
