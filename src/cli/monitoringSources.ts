/**
 * Where the monitor and the pilot find past analyses: a node's data directory (its analysis
 * log names each analysis.json, live or shadow) or a folder of `analyze` outputs. The node may
 * not import lifecycle/ and lifecycle/ may not import the node, so the command line joins them
 * (ADR 0087), here and in the node's scheduled drift check.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { ModelRegistry } from '../inference/models/index.js';
import { writeFileAtomic } from '../foundation/core/index.js';
import {
  detectDrift,
  loadPackageDriftReference,
  readAnalysisFile,
  readAnalysisFolder,
  renderDriftHtml,
  selectWindow,
  type AnalysedImage,
  type DriftReference,
  type DriftReport,
} from '../lifecycle/monitoring/index.js';
import {
  readAnalysisLog,
  type AnalysisLogEntry,
  type AnalysisMode,
  type DriftCheck,
  type DriftCheckOutcome,
  type NodeConfig,
} from '../node/service/index.js';
import { parseModelRef } from './modelRegistryLocation.js';

/** Analysed images of a node, each with its study's accession number when known. */
export interface NodeAnalyses {
  readonly images: AnalysedImage[];
  readonly entries: AnalysisLogEntry[];
  /** analysis.json files the log names that are gone (results deleted by hand). */
  readonly missing: number;
}

/**
 * The analyses a node recorded, oldest first; `lastImages` stops reading once that many of
 * the newest images are in (a long-running node has years of results).
 */
export async function nodeAnalyses(
  dataDir: string,
  filter: { mode?: AnalysisMode; model?: string; lastImages?: number } = {},
): Promise<NodeAnalyses> {
  const entries = readAnalysisLog(dataDir, {
    ...(filter.mode === undefined ? {} : { mode: filter.mode }),
    ...(filter.model === undefined ? {} : { model: filter.model }),
  });
  const images: AnalysedImage[] = [];
  const used: AnalysisLogEntry[] = [];
  let missing = 0;
  for (const entry of [...entries].reverse()) {
    if (filter.lastImages !== undefined && images.length >= filter.lastImages) break;
    const path = join(dataDir, entry.summaryPath);
    if (!existsSync(path)) {
      missing += 1;
      continue;
    }
    images.unshift(...(await readAnalysisFile(path)));
    used.unshift(entry);
  }
  return { images, entries: used, missing };
}

export async function resultsFolderAnalyses(folder: string): Promise<AnalysedImage[]> {
  return readAnalysisFolder(folder);
}

/** report.json (without the window's raw values) and report.html into outDir. */
export async function writeDriftReport(
  outDir: string,
  report: DriftReport,
  reference: DriftReference,
): Promise<{ json: string; html: string }> {
  const { windowValues: _values, ...json } = report;
  const paths = { json: join(outDir, 'report.json'), html: join(outDir, 'report.html') };
  await writeFileAtomic(paths.json, `${JSON.stringify(json, null, 2)}\n`);
  await writeFileAtomic(paths.html, renderDriftHtml(report, reference));
  return paths;
}

/**
 * The node's scheduled drift check (ADR 0087): every model version with analyses in the
 * node's log, its most recent `lastImages` images against its package's reference; the
 * latest report per model is kept in `<data>/monitoring/<id>@<version>/`.
 */
export function nodeDriftCheck(config: NodeConfig): DriftCheck {
  return async () => {
    const registry = new ModelRegistry(config.modelsDir);
    const lastImages = config.monitoring?.lastImages ?? 200;
    const models = [...new Set(readAnalysisLog(config.dataDir).map((entry) => entry.model))].sort();
    const outcomes: DriftCheckOutcome[] = [];
    for (const model of models) {
      const { id, version } = parseModelRef(model);
      let reference: DriftReference;
      try {
        reference = await loadPackageDriftReference(await registry.resolve(id, version));
      } catch (error) {
        outcomes.push({
          model,
          drift: false,
          features: [],
          windowImages: 0,
          report: null,
          note: `not checked: ${(error as Error).message}`,
        });
        continue;
      }
      const { images } = await nodeAnalyses(config.dataDir, { model, lastImages });
      const window = selectWindow(images, { model: { id, version: version! }, last: lastImages });
      const report = detectDrift(reference, window);
      const paths = await writeDriftReport(
        join(config.dataDir, 'monitoring', model),
        report,
        reference,
      );
      outcomes.push({
        model,
        drift: report.drift,
        features: report.tests.filter((t) => t.drift).map((t) => t.feature),
        windowImages: window.length,
        report: paths.html,
        ...(report.tests.length === 0
          ? { note: `too few analyses to test (${window.length} images)` }
          : {}),
      });
    }
    return outcomes;
  };
}
