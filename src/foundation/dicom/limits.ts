/**
 * What the Part 10 reading path will spend on one dataset (ADR 0123): how far a Deflated
 * Explicit VR Little Endian dataset may inflate and how deep sequences may nest. A 1.8 MB
 * deflate bomb inflated to 7.6 GB, and 100,000 nested sequences overflowed the stack or ran
 * for minutes; both are now refused early with E_LIMIT_EXCEEDED, which the outcome map
 * answers "cannot understand" (C000), never "out of resources" (the sender would retry).
 *
 * The limits are process-wide settings: every reader (C-STORE, STOW-RS, the watched folder,
 * analyze, de-identification) goes through the same functions, and `radiolens serve` sets them
 * once from its configuration at start-up.
 */
import { RadiolensError } from '../core/index.js';

export interface ParsingLimits {
  /** Absolute ceiling on an inflated dataset, in bytes, whatever its image declares. */
  readonly maxInflatedBytes: number;
  /**
   * What a dataset may inflate to beyond its declared image (Rows × Columns × Number of
   * Frames × Samples per Pixel × Bits Allocated / 8): the non-pixel attributes.
   */
  readonly inflateAllowanceBytes: number;
  /** Sequences inside sequences, counting the outermost as 1. */
  readonly maxSequenceDepth: number;
}

export const DEFAULT_PARSING_LIMITS: ParsingLimits = {
  maxInflatedBytes: 1024 ** 3,
  inflateAllowanceBytes: 64 * 1024 ** 2,
  // Real data nests a handful of levels (an SR content tree perhaps twenty).
  maxSequenceDepth: 64,
};

let current: ParsingLimits = DEFAULT_PARSING_LIMITS;

/** The limits in force. */
export function parsingLimits(): ParsingLimits {
  return current;
}

/**
 * Sets the limits for this process (serve's configuration); unset fields keep the default.
 * Throws E_BAD_INPUT for a limit that is not a positive whole number.
 */
export function configureParsingLimits(limits: Partial<ParsingLimits>): ParsingLimits {
  const next = { ...DEFAULT_PARSING_LIMITS, ...limits };
  for (const [name, value] of Object.entries(next)) {
    if (!Number.isSafeInteger(value) || (value as number) < 1) {
      throw new RadiolensError(
        'E_BAD_INPUT',
        `parsing limit ${name} is ${String(value)}: use a whole number of at least 1`,
      );
    }
  }
  current = next;
  return current;
}

export function depthExceeded(depth: number, source: string, at: number): RadiolensError {
  return new RadiolensError(
    'E_LIMIT_EXCEEDED',
    `${source}: sequences nest deeper than ${depth - 1} levels at byte ${at} (the limit is ${current.maxSequenceDepth}); the dataset is refused — real data never nests this deep`,
    { subject: source },
  );
}
