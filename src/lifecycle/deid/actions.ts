/**
 * From a Table E.1-1 row and the options in force to the one action we apply (ADR 0062).
 *
 * Compound actions are resolved without per-IOD type tables, towards the choice that keeps
 * any IOD valid and carries no identifying information:
 *   X/Z → Z (an empty value satisfies Type 2 and Type 3),
 *   X/D, Z/D, X/Z/D → D (a dummy satisfies Type 1, 2 and 3),
 *   X/Z/U* → U (sequence kept, every UID inside remapped; nothing else survives the rules).
 * An option column's K or C replaces the Basic Profile action when that option is in force;
 * when several enabled options speak, K (retain) wins over C (clean), as each option's text
 * in E.3 asks for the attribute to be retained.
 */
import type { ProfileRow } from './profileTypes.js';
import type { DeidOption } from './options.js';

/** The single actions the engine knows how to perform. */
export type ResolvedAction = 'X' | 'Z' | 'D' | 'K' | 'C' | 'U';

export function resolveBasicAction(basic: ProfileRow['basic']): ResolvedAction {
  switch (basic) {
    case 'X/Z':
      return 'Z';
    case 'X/D':
    case 'Z/D':
    case 'X/Z/D':
      return 'D';
    case 'X/Z/U*':
      return 'U';
    default:
      return basic;
  }
}

export function resolveAction(
  row: ProfileRow,
  options: ReadonlySet<DeidOption>,
): { action: ResolvedAction; by: DeidOption | 'basic' } {
  let clean: DeidOption | undefined;
  for (const [option, action] of Object.entries(row.options) as [DeidOption, 'K' | 'C'][]) {
    if (!options.has(option)) continue;
    if (action === 'K') return { action: 'K', by: option };
    clean ??= option;
  }
  if (clean !== undefined) return { action: 'C', by: clean };
  return { action: resolveBasicAction(row.basic), by: 'basic' };
}
