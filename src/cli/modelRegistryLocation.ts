import { join, resolve } from 'node:path';
import { installRoot } from './installRoot.js';

/**
 * Where installed model packages live: --registry, else $RADIOLENS_MODELS, else the
 * `models/` folder shipped with this installation.
 */
export function modelRegistryLocation(explicit?: string): string {
  if (explicit) return resolve(explicit);
  const fromEnv = process.env['RADIOLENS_MODELS'];
  if (fromEnv) return resolve(fromEnv);
  return join(installRoot, 'models');
}

/** Parse `<id>[@<version>]`. */
export function parseModelRef(text: string): { id: string; version?: string } {
  const at = text.lastIndexOf('@');
  if (at <= 0) return { id: text };
  return { id: text.slice(0, at), version: text.slice(at + 1) };
}
