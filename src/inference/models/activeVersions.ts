/**
 * Which version of a model is active (ADR 0035): `<registry>/<id>/active.json`, a stack of
 * activations. `radiolens models promote` pushes the version that passed the gate, `rollback`
 * pops back to the one before it, and every change is kept in `transitions`. Routing and
 * `analyze` run the active version; other versions run only in shadow mode or in evaluation.
 *
 * A model with no state file has never been promoted: its newest release is active, as before
 * the gate existed, so that a registry of single packages needs no ceremony.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { RadiolensError, writeFileAtomic } from '../../foundation/core/index.js';
import { SEMVER_PATTERN } from './semver.js';

export const ACTIVE_STATE_FILE = 'active.json';
const SCHEMA = 'radiolens.active-version/1' as const;

const version = z.string().regex(SEMVER_PATTERN);

const transitionSchema = z.strictObject({
  at: z.string().min(1),
  action: z.enum(['promote', 'rollback']),
  from: version.nullable(),
  to: version,
  actor: z.string().min(1),
  /** The gate's report, relative to the model's registry folder. */
  evidence: z.string().min(1).optional(),
});

const stateSchema = z.strictObject({
  schema: z.literal(SCHEMA),
  id: z.string().min(1),
  /** Activations, oldest first; the last one is active. Never empty. */
  stack: z.array(version).min(1),
  transitions: z.array(transitionSchema),
});

export type ActiveVersionState = z.infer<typeof stateSchema>;
export type ActiveVersionTransition = z.infer<typeof transitionSchema>;

export function activeStatePath(root: string, id: string): string {
  return join(root, id, ACTIVE_STATE_FILE);
}

/** The state, or null when the model was never promoted. Throws E_REGISTRY_STATE when unreadable. */
export async function readActiveState(root: string, id: string): Promise<ActiveVersionState | null> {
  const path = activeStatePath(root, id);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new RadiolensError('E_REGISTRY_STATE', `cannot read ${path}: ${(error as Error).message}`, {
      subject: path,
      cause: error,
    });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (cause) {
    throw new RadiolensError(
      'E_REGISTRY_STATE',
      `${path} is not valid JSON — restore it from backup; no model of ${id} runs until it is readable`,
      { subject: path, cause },
    );
  }
  const parsed = stateSchema.safeParse(json);
  if (!parsed.success || parsed.data.id !== id) {
    const why = parsed.success
      ? `it is the state of ${parsed.data.id}`
      : parsed.error.issues.map((i) => `${i.path.join('.') || '(top)'}: ${i.message}`).join('; ');
    throw new RadiolensError(
      'E_REGISTRY_STATE',
      `${path} is not a valid active-version state (${why}) — restore it from backup; no model of ${id} runs until it is valid`,
      { subject: path },
    );
  }
  return parsed.data;
}

export async function writeActiveState(root: string, state: ActiveVersionState): Promise<void> {
  const checked = stateSchema.parse(state);
  await writeFileAtomic(activeStatePath(root, state.id), `${JSON.stringify(checked, null, 2)}\n`, {
    durable: true,
  });
}

/** A new state, or the old one with `to` pushed on top. */
export function withPromotion(
  state: ActiveVersionState | null,
  id: string,
  from: string | null,
  transition: Omit<ActiveVersionTransition, 'action' | 'from'>,
): ActiveVersionState {
  const base: ActiveVersionState = state ?? {
    schema: SCHEMA,
    id,
    // The newest release was active by default; it becomes the explicit first activation,
    // so that a rollback returns to it.
    stack: from === null ? [] : [from],
    transitions: [],
  };
  return {
    ...base,
    stack: [...base.stack, transition.to],
    transitions: [...base.transitions, { ...transition, action: 'promote', from }],
  };
}

/** The old state with its top popped; throws when nothing is below it. */
export function withRollback(
  state: ActiveVersionState | null,
  id: string,
  at: string,
  actor: string,
): ActiveVersionState {
  if (state === null || state.stack.length < 2) {
    throw new RadiolensError(
      'E_REGISTRY_STATE',
      `${id} has no earlier active version to roll back to${state === null ? ' (it was never promoted)' : ''}`,
      { subject: id },
    );
  }
  const from = state.stack[state.stack.length - 1]!;
  const stack = state.stack.slice(0, -1);
  return {
    ...state,
    stack,
    transitions: [...state.transitions, { at, action: 'rollback', from, to: stack[stack.length - 1]!, actor }],
  };
}
