/**
 * The models page's data (issue #13 Deliver 5; ADR 0196), read from the model registry: each
 * installed version, whether it is the active one, its card, lineage (datasets, training run,
 * parent), validation reports (the model's evidence and this site's), and which routes of the
 * node's configuration use it. Read-only; a package's files are not hashed here (that is done
 * each time it is about to run).
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ModelManifest, ModelRegistry, RegistryEntry } from '../../inference/models/index.js';
import {
  siteValidationDir,
  validationReportsIn,
  type ValidationSummary,
} from './validationReports.js';

export interface ModelCatalogOptions {
  readonly registry: ModelRegistry;
  /** The node's data folder (site validation reports). */
  readonly dataDir: string;
  /** The routes of the node's configuration that run this version (routing.ts). */
  readonly routesUsing: (id: string, version: string, active: boolean) => string[];
}

export interface ModelSummary {
  readonly id: string;
  readonly version: string;
  readonly name: string;
  readonly task: string;
  readonly active: boolean;
  readonly routes: string[];
}

export interface DatasetRef {
  readonly name: string;
  readonly version: string | null;
  readonly sha256?: string;
  readonly images?: number;
}

export interface ModelDetail extends ModelSummary {
  readonly manufacturer: string;
  readonly intendedUse: ModelManifest['intendedUse'];
  readonly limitations: readonly string[];
  readonly labels: { id: string; meaning: string; threshold: number }[];
  readonly card: { markdown: string; source: string } | null;
  readonly lineage: {
    datasets: DatasetRef[];
    trainingRun: Record<string, unknown> | null;
    parent: string | null;
    recipe: string | null;
  };
  readonly validationReports: ValidationSummary[];
  /** The validation results the manifest declares (as packaged). */
  readonly declaredValidation: ModelManifest['validation'];
}

async function readText(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch {
    return undefined;
  }
}

/**
 * The card of a version: `MODEL_CARD-<version>.md` beside its folder, else `MODEL_CARD.md`
 * when that card names this exact version (the registry keeps one card per released line).
 */
async function modelCard(
  root: string,
  id: string,
  version: string,
): Promise<{ markdown: string; source: string } | null> {
  for (const name of [`MODEL_CARD-${version}.md`, 'MODEL_CARD.md']) {
    const markdown = await readText(join(root, id, name));
    if (markdown === undefined) continue;
    if (name === 'MODEL_CARD.md' && !markdown.includes(`\`${id}@${version}\``)) continue;
    return { markdown, source: name };
  }
  return null;
}

/** The training run record of a version: in its package, or in the registry's evidence. */
async function trainingRun(
  root: string,
  entry: RegistryEntry,
): Promise<{ run: Record<string, unknown>; source: string } | null> {
  for (const [path, source] of [
    [join(entry.dir, 'training-run.json'), 'training-run.json'],
    [
      join(root, entry.id, 'evidence', entry.version, 'training-run.json'),
      `evidence/${entry.version}/training-run.json`,
    ],
  ] as const) {
    const text = await readText(path);
    if (text === undefined) continue;
    try {
      return { run: JSON.parse(text) as Record<string, unknown>, source };
    } catch {
      continue;
    }
  }
  return null;
}

/** A run's summary for the page: what made it and on what, not its per-epoch history. */
function runSummary(run: Record<string, unknown>, source: string): Record<string, unknown> {
  const keep = ['recipe', 'model', 'version', 'seconds', 'torch_version', 'evaluation'];
  return {
    source,
    ...Object.fromEntries(keep.filter((k) => run[k] !== undefined).map((k) => [k, run[k]])),
  };
}

function runDatasets(run: Record<string, unknown> | undefined): DatasetRef[] {
  const datasets = run?.['datasets'];
  if (typeof datasets !== 'object' || datasets === null) return [];
  return Object.entries(datasets as Record<string, { version?: unknown; images?: unknown }>).map(
    ([name, d]) => ({
      name,
      version: typeof d?.version === 'string' ? d.version : null,
      ...(typeof d?.images === 'number' ? { images: d.images } : {}),
    }),
  );
}

export class ModelCatalog {
  constructor(private readonly options: ModelCatalogOptions) {}

  private async isActive(id: string, version: string): Promise<boolean> {
    try {
      return (await this.options.registry.activeVersion(id)).version === version;
    } catch {
      // A registry whose active state names a missing package has no active version.
      return false;
    }
  }

  private async summary(entry: RegistryEntry): Promise<ModelSummary> {
    const active = await this.isActive(entry.id, entry.version);
    return {
      id: entry.id,
      version: entry.version,
      name: entry.manifest.name,
      task: entry.manifest.task,
      active,
      routes: this.options.routesUsing(entry.id, entry.version, active),
    };
  }

  async list(): Promise<ModelSummary[]> {
    const entries = await this.options.registry.list();
    return Promise.all(entries.map((entry) => this.summary(entry)));
  }

  /** One version; undefined when the registry has no valid package of it. */
  async detail(id: string, version: string): Promise<ModelDetail | undefined> {
    const entry = (await this.options.registry.list()).find(
      (e) => e.id === id && e.version === version,
    );
    if (entry === undefined) return undefined;
    const root = this.options.registry.root;
    const manifest = entry.manifest;
    const run = await trainingRun(root, entry);
    const trained = manifest.lineage.trainingDataset;
    const datasets: DatasetRef[] = [
      ...(trained === undefined
        ? []
        : [
            {
              name: trained.id,
              version: trained.version ?? null,
              ...(trained.sha256 === undefined ? {} : { sha256: trained.sha256 }),
            },
          ]),
      ...runDatasets(run?.run).filter(
        (d) => d.version !== trained?.version || d.name !== trained?.id,
      ),
    ];
    const parent = manifest.lineage.parent;
    return {
      ...(await this.summary(entry)),
      manufacturer: manifest.manufacturer,
      intendedUse: manifest.intendedUse,
      limitations: manifest.limitations,
      labels: manifest.labels.map((l) => ({
        id: l.id,
        meaning: l.code.meaning,
        threshold: l.threshold,
      })),
      card: await modelCard(root, id, version),
      lineage: {
        datasets,
        trainingRun: run === null ? null : runSummary(run.run, run.source),
        parent: parent === undefined ? null : `${parent.id}@${parent.version}`,
        recipe: manifest.lineage.recipe ?? null,
      },
      validationReports: [
        ...(await validationReportsIn(
          siteValidationDir(this.options.dataDir, id, version),
          entry,
          'site',
        )),
        ...(await validationReportsIn(join(root, id, 'evidence', version), entry, 'model')),
      ],
      declaredValidation: manifest.validation,
    };
  }
}
