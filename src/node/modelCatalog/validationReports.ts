/**
 * Validation reports (`radiolens validate`'s report.json, schema radiolens.validation-report/1)
 * read for the reading room (ADR 0196): the model's own, kept in the registry's evidence folder
 * (`<registry>/<id>/evidence/<version>/`), and the site's, registered into the node's data
 * folder (`<data>/site-validation/<id>/<version>/`) by `radiolens validate --site-data`. Each is
 * summarised for one label: AUC, sensitivity and specificity at the operating point with their
 * intervals — the patient-clustered ones when the report has them (images of one patient are
 * not independent), the image-level ones otherwise — and says which.
 */
import { copyFile, mkdir, readFile, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { RadiolensError } from '../../foundation/core/index.js';

export const VALIDATION_REPORT_SCHEMA = 'radiolens.validation-report/1';
/** Below the node's data folder: the site's own validation reports. */
export const SITE_VALIDATION_DIR = 'site-validation';

export interface Estimate {
  readonly value: number;
  readonly low: number;
  readonly high: number;
}

export interface ValidationSummary {
  /** The report's file name (relative to the folder it was found in). */
  readonly source: string;
  /** 'site': registered on this node from the site's data; 'model': the model's evidence. */
  readonly origin: 'site' | 'model';
  readonly date: string | null;
  readonly dataset: string | null;
  readonly label: string;
  readonly images: number;
  readonly patients: number | null;
  readonly auc: Estimate;
  readonly sensitivity: Estimate | null;
  readonly specificity: Estimate | null;
  readonly threshold: number | null;
  /** How the intervals were made, in words. */
  readonly ci: string;
}

type Interval = readonly [number, number];
interface Proportion {
  readonly estimate: number;
  readonly ci: Interval;
}
interface ReportLabel {
  readonly id: string;
  readonly threshold?: number;
  readonly cases?: number;
  readonly auc: { readonly estimate: number; readonly ci: Interval; readonly method?: string };
  readonly operatingPoint?: {
    readonly threshold?: number;
    readonly sensitivity?: Proportion;
    readonly specificity?: Proportion;
    readonly level?: number;
  };
  readonly clustered?: {
    readonly unit: string;
    readonly auc: { readonly ci: Interval; readonly clusters: number; readonly level: number };
    readonly bootstrap: { readonly sensitivity: Interval; readonly specificity: Interval };
  };
}
interface Report {
  readonly schema: string;
  readonly generatedAt?: string;
  readonly model?: { readonly id?: string; readonly version?: string };
  readonly dataset?: { readonly source?: string | null; readonly cases?: number };
  readonly settings?: { readonly level?: number };
  readonly labels: readonly ReportLabel[];
}

const isInterval = (v: unknown): v is Interval =>
  Array.isArray(v) && v.length === 2 && v.every((x) => typeof x === 'number');

/** Whether parsed JSON is a validation report this reader understands. */
export function isValidationReport(json: unknown): json is Report {
  const r = json as Partial<Report> | null;
  return (
    typeof r === 'object' &&
    r !== null &&
    r.schema === VALIDATION_REPORT_SCHEMA &&
    Array.isArray(r.labels) &&
    r.labels.every(
      (l) =>
        typeof l?.auc?.estimate === 'number' && isInterval(l.auc.ci) && typeof l.id === 'string',
    )
  );
}

const percent = (level: number): string => `${Math.round(level * 100)}%`;

/** One label's numbers from a report (the first label when none is named); undefined if absent. */
export function summariseReport(
  report: Report,
  source: string,
  origin: 'site' | 'model',
  labelId?: string,
): ValidationSummary | undefined {
  const label =
    labelId === undefined ? report.labels[0] : report.labels.find((l) => l.id === labelId);
  if (label === undefined) return undefined;
  const level = report.settings?.level ?? label.operatingPoint?.level ?? 0.95;
  const op = label.operatingPoint;
  const clustered = label.clustered;
  const proportion = (
    p: Proportion | undefined,
    clusteredCi: Interval | undefined,
  ): Estimate | null =>
    p === undefined
      ? null
      : { value: p.estimate, low: (clusteredCi ?? p.ci)[0], high: (clusteredCi ?? p.ci)[1] };
  const aucCi = clustered?.auc.ci ?? label.auc.ci;
  return {
    source,
    origin,
    date: report.generatedAt ?? null,
    dataset: report.dataset?.source ?? null,
    label: label.id,
    images: label.cases ?? report.dataset?.cases ?? 0,
    patients: clustered?.auc.clusters ?? null,
    auc: { value: label.auc.estimate, low: aucCi[0], high: aucCi[1] },
    sensitivity: proportion(op?.sensitivity, clustered?.bootstrap.sensitivity),
    specificity: proportion(op?.specificity, clustered?.bootstrap.specificity),
    threshold: op?.threshold ?? label.threshold ?? null,
    ci:
      clustered !== undefined
        ? `${percent(level)} CI clustered by ${clustered.unit} (${clustered.auc.clusters}): AUC Obuchowski (clustered DeLong); sensitivity and specificity cluster bootstrap, percentile`
        : `${percent(level)} CI per image: AUC ${label.auc.method ?? 'DeLong'}; sensitivity and specificity Wilson score`,
  };
}

async function readReport(file: string): Promise<Report | undefined> {
  try {
    const json: unknown = JSON.parse(await readFile(file, 'utf8'));
    return isValidationReport(json) ? json : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The validation reports in a folder: its `*.json` files and `*\/report.json` one level down,
 * those that are validation reports of `id@version` (others — OOD, robustness — are skipped).
 * Newest first.
 */
export async function validationReportsIn(
  dir: string,
  model: { readonly id: string; readonly version: string },
  origin: 'site' | 'model',
  labelId?: string,
): Promise<ValidationSummary[]> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return [];
  }
  const found: ValidationSummary[] = [];
  for (const name of names.sort()) {
    const path = join(dir, name);
    const info = await stat(path).catch(() => undefined);
    const [file, source] = info?.isDirectory()
      ? [join(path, 'report.json'), `${name}/report.json`]
      : name.endsWith('.json')
        ? [path, name]
        : [undefined, name];
    if (file === undefined) continue;
    const report = await readReport(file);
    if (report === undefined) continue;
    if (report.model?.id !== model.id || report.model.version !== model.version) continue;
    const summary = summariseReport(report, source, origin, labelId);
    if (summary !== undefined) found.push(summary);
  }
  return found.sort((a, b) => (b.date ?? '').localeCompare(a.date ?? ''));
}

/** The folder of a model version's site validation reports on the node of `dataDir`. */
export function siteValidationDir(dataDir: string, id: string, version: string): string {
  return join(dataDir, SITE_VALIDATION_DIR, id, version);
}

/**
 * Registers a report as the site's validation of its model version on the node of
 * `dataDir` (what `radiolens validate --site-data` does); the copy's path.
 */
export async function registerSiteValidation(dataDir: string, reportFile: string): Promise<string> {
  const report = await readReport(reportFile);
  if (
    report === undefined ||
    report.model?.id === undefined ||
    report.model.version === undefined
  ) {
    throw new RadiolensError(
      'E_BAD_INPUT',
      `${reportFile} is not a validation report (${VALIDATION_REPORT_SCHEMA}) naming its model — give the report.json that "radiolens validate" wrote`,
      { subject: reportFile },
    );
  }
  const dir = siteValidationDir(dataDir, report.model.id, report.model.version);
  await mkdir(dir, { recursive: true });
  const stamp = (report.generatedAt ?? new Date().toISOString())
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z');
  const target = join(dir, `validation-${stamp}.json`);
  await copyFile(reportFile, target);
  return target;
}
