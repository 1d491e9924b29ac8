/**
 * Turning command-line settings into a DeidConfig and a map, in one place for every command
 * that de-identifies (deid, dataset create). Defaults live under $RADIOLENS_HOME (or
 * ~/.radiolens): the installation secret in deid/secret.key, the map in reid/.
 */
import { readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { RadiolensError } from '../../foundation/core/index.js';
import type { DeidConfig } from './deidentify.js';
import { loadOrCreateInstallationSecret } from './keys.js';
import { parseDeidOptions } from './options.js';
import { parsePixelCleaningRules, type PixelCleaningRule } from './pixels.js';
import { assertMapOutside, ReidentificationMap } from './reidMap.js';

export interface DeidSettings {
  readonly options: readonly string[];
  readonly secret?: string;
  readonly mapDir?: string;
  readonly pixelRules?: string;
  /** The directory de-identified data goes to; the map must not be inside it. */
  readonly outDir: string;
}

export function radiolensHome(): string {
  return process.env['RADIOLENS_HOME'] ?? join(homedir(), '.radiolens');
}

export async function prepareDeidentification(
  settings: DeidSettings,
): Promise<{ config: DeidConfig; map: ReidentificationMap }> {
  const options = parseDeidOptions(settings.options);
  let pixelRules: PixelCleaningRule[] = [];
  if (settings.pixelRules !== undefined) {
    let text: string;
    try {
      text = await readFile(settings.pixelRules, 'utf8');
    } catch (cause) {
      throw new RadiolensError('E_DEID_CONFIG', `cannot read pixel rules ${settings.pixelRules}`, {
        subject: settings.pixelRules,
        cause,
      });
    }
    pixelRules = parsePixelCleaningRules(JSON.parse(text), settings.pixelRules);
  } else if (options.has('cleanPixelData')) {
    throw new RadiolensError(
      'E_DEID_CONFIG',
      'clean-pixel-data needs --pixel-rules <file.json> naming the regions to blank',
    );
  }
  const mapDir = settings.mapDir ?? join(radiolensHome(), 'reid');
  assertMapOutside(mapDir, settings.outDir);
  const keys = await loadOrCreateInstallationSecret(
    settings.secret ?? join(radiolensHome(), 'deid', 'secret.key'),
  );
  const map = await ReidentificationMap.open(mapDir);
  return { config: { options, keys, pixelRules }, map };
}
