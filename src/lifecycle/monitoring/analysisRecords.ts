/**
 * The monitor's view of past analyses: one record per analysed image, read from the
 * analysis.json that `analyze` and the node write per study. Parsed with a schema that
 * ignores fields it does not use (analysis.json grows), and refuses a file that lacks what
 * monitoring needs, naming it.
 */
import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { z } from 'zod';
import { RadiolensError, filesUnder } from '../../foundation/core/index.js';
import type { InputStatistics } from '../../inference/monitoring/index.js';

export interface AnalysedImage {
  readonly studyInstanceUid: string;
  readonly sopInstanceUid: string;
  readonly model: { readonly id: string; readonly version: string };
  readonly performedAt: Date;
  /** Absent for analyses made before inputs were recorded. */
  readonly inputs: InputStatistics | null;
  readonly ood: {
    readonly distance: number;
    readonly threshold: number;
    readonly flagged: boolean;
  } | null;
  /** Per label id: the probability, the operating point and the verdict. */
  readonly findings: Readonly<
    Record<string, { probability: number; threshold: number; present: boolean }>
  >;
}

const nullableString = z.string().nullable();
const nullableNumber = z.number().nullable();
const inputsSchema = z.object({
  patient: z.string().nullable().optional(),
  acquisition: z.object({
    modality: nullableString,
    manufacturer: nullableString,
    manufacturerModelName: nullableString,
    viewPosition: nullableString,
    bodyPartExamined: nullableString,
    photometricInterpretation: nullableString,
    bitsStored: nullableNumber,
    pixelSpacing: nullableString,
    kvp: nullableNumber,
    rows: nullableNumber,
    columns: nullableNumber,
  }),
  pixels: z.object({
    mean: z.number(),
    std: z.number(),
    p05: z.number(),
    p50: z.number(),
    p95: z.number(),
  }),
});

const summarySchema = z.object({
  studyInstanceUid: z.string().min(1),
  model: z.object({ id: z.string().min(1), version: z.string().min(1) }).nullable(),
  performedAt: z.string().nullable(),
  findings: z.array(
    z.object({
      sopInstanceUid: z.string().min(1),
      label: z.string().min(1),
      probability: z.number(),
      threshold: z.number(),
      present: z.boolean(),
      ood: z
        .object({ distance: z.number(), threshold: z.number(), flagged: z.boolean() })
        .nullable()
        .optional(),
    }),
  ),
  inputs: z.record(z.string(), inputsSchema).optional(),
});

/** The analysed images of one study summary; [] for a study no model analysed. */
export function imagesOfAnalysis(json: unknown, source: string): AnalysedImage[] {
  const parsed = summarySchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new RadiolensError(
      'E_BAD_INPUT',
      `${source} is not an analysis summary Radiolens can read (${issue.path.join('.') || '(top)'}: ${issue.message}) — pass the analysis.json files that analyze or the node wrote`,
      { subject: source },
    );
  }
  const summary = parsed.data;
  if (summary.model === null || summary.performedAt === null || summary.findings.length === 0)
    return [];
  const performedAt = new Date(summary.performedAt);
  const bySop = new Map<
    string,
    { findings: Record<string, AnalysedImage['findings'][string]>; ood: AnalysedImage['ood'] }
  >();
  for (const finding of summary.findings) {
    const entry = bySop.get(finding.sopInstanceUid) ?? { findings: {}, ood: finding.ood ?? null };
    entry.findings[finding.label] = {
      probability: finding.probability,
      threshold: finding.threshold,
      present: finding.present,
    };
    bySop.set(finding.sopInstanceUid, entry);
  }
  return [...bySop].map(([sopInstanceUid, entry]) => ({
    studyInstanceUid: summary.studyInstanceUid,
    sopInstanceUid,
    model: summary.model!,
    performedAt,
    inputs: inputsOf(summary.inputs?.[sopInstanceUid]),
    ood: entry.ood,
    findings: entry.findings,
  }));
}

function inputsOf(parsed: z.infer<typeof inputsSchema> | undefined): InputStatistics | null {
  if (parsed === undefined) return null;
  return {
    patient: parsed.patient ?? null,
    acquisition: parsed.acquisition,
    pixels: parsed.pixels,
  };
}

/** Every analysis.json below a folder (an `analyze --out` folder, or the node's results). */
export async function readAnalysisFolder(dir: string): Promise<AnalysedImage[]> {
  let paths: string[];
  try {
    paths = await filesUnder(dir);
  } catch (cause) {
    throw new RadiolensError('E_IO', `cannot read the results folder ${dir} — check the path`, {
      subject: dir,
      cause,
    });
  }
  const files = paths.filter((path) => basename(path) === 'analysis.json');
  const images: AnalysedImage[] = [];
  for (const path of files) images.push(...(await readAnalysisFile(path)));
  return images;
}

export async function readAnalysisFile(path: string): Promise<AnalysedImage[]> {
  let json: unknown;
  try {
    json = JSON.parse(await readFile(path, 'utf8'));
  } catch (cause) {
    throw new RadiolensError(
      'E_BAD_INPUT',
      `${path} is not readable JSON — was it cut off? Re-run the analysis or remove it`,
      {
        subject: path,
        cause,
      },
    );
  }
  return imagesOfAnalysis(json, path);
}
