/**
 * What changed between the active version and a candidate (ADR 0035), found by comparing the
 * two packages rather than trusting a description: the manifest section by section, and the
 * ONNX graphs node by node and weight by weight. Each change gets a kind; a change-control
 * plan allows some kinds (ALLOWABLE_MODIFICATIONS), and the rest — a wider intended use,
 * other labels, another manufacturer, a changed plan — are never allowed by a plan.
 */
import { readFile } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import {
  ALLOWABLE_MODIFICATIONS,
  readOnnxModel,
  type AllowableModification,
  type ModelIntendedUse,
  type ModelPackage,
  type OnnxModel,
} from '../../inference/models/index.js';

export type ModificationKind =
  AllowableModification | 'intended-use-change' | 'labels' | 'manufacturer' | 'change-control-plan';

export interface Modification {
  readonly kind: ModificationKind;
  /** Whether a plan may allow this kind at all. */
  readonly allowable: boolean;
  readonly detail: string;
}

function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    return `{${Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`)
      .join(',')}}`;
  }
  return JSON.stringify(value);
}

const same = (a: unknown, b: unknown): boolean => canonical(a) === canonical(b);

function modification(kind: ModificationKind, detail: string): Modification {
  return { kind, allowable: (ALLOWABLE_MODIFICATIONS as readonly string[]).includes(kind), detail };
}

export async function classifyModifications(
  current: ModelPackage,
  candidate: ModelPackage,
): Promise<Modification[]> {
  const a = current.manifest;
  const b = candidate.manifest;
  const out: Modification[] = [];
  if (a.manufacturer !== b.manufacturer)
    out.push(
      modification('manufacturer', `manufacturer "${a.manufacturer}" → "${b.manufacturer}"`),
    );

  const identity = (m: typeof a): unknown => m.labels.map(({ threshold: _t, ...rest }) => rest);
  if (!same(identity(a), identity(b))) {
    out.push(
      modification(
        'labels',
        `labels ${a.labels.map((l) => `${l.id} (${l.code.scheme} ${l.code.value}, ${l.alertLevel})`).join(', ')} → ${b.labels
          .map((l) => `${l.id} (${l.code.scheme} ${l.code.value}, ${l.alertLevel})`)
          .join(', ')}`,
      ),
    );
  } else {
    const moved = b.labels.filter((l, i) => l.threshold !== a.labels[i]!.threshold);
    if (moved.length > 0) {
      out.push(
        modification(
          'operating-point',
          moved
            .map(
              (l) =>
                `${l.id} threshold ${a.labels.find((x) => x.id === l.id)!.threshold} → ${l.threshold}`,
            )
            .join('; '),
        ),
      );
    }
  }

  if (!same(a.intendedUse, b.intendedUse))
    out.push(intendedUseChange(a.intendedUse, b.intendedUse));
  if (!same(a.input, b.input))
    out.push(
      modification('input-preprocessing', `input ${canonical(a.input)} → ${canonical(b.input)}`),
    );
  if (!same(a.explanation, b.explanation))
    out.push(
      modification(
        'explanation',
        `explanation ${a.explanation.method} → ${b.explanation.method} (${canonical(b.explanation)})`,
      ),
    );
  if (!same(a.outputs, b.outputs))
    out.push(
      modification('architecture', `outputs ${canonical(a.outputs)} → ${canonical(b.outputs)}`),
    );
  out.push(...(await networkChanges(current, candidate)));

  const oodOf = (m: typeof a): unknown =>
    m.ood === undefined ? null : { ...m.ood, sha256: m.files[m.ood.file] };
  if (!same(oodOf(a), oodOf(b))) {
    out.push(
      modification(
        'ood-statistics',
        b.ood === undefined
          ? 'the OOD check was removed'
          : a.ood === undefined
            ? 'an OOD check was added'
            : 'the OOD statistics or threshold changed',
      ),
    );
  }
  const referenceOf = (m: typeof a): unknown =>
    m.monitoring === undefined ? null : m.files[m.monitoring.reference];
  if (!same(referenceOf(a), referenceOf(b))) {
    out.push(
      modification(
        'monitoring-reference',
        b.monitoring === undefined
          ? 'the drift reference was removed'
          : 'the drift reference changed',
      ),
    );
  }
  if (!same(a.changeControl ?? null, b.changeControl ?? null)) {
    out.push(
      modification(
        'change-control-plan',
        b.changeControl === undefined
          ? 'the candidate carries no change-control plan (the plan cannot be dropped by an update)'
          : `the candidate's change-control plan differs (${b.changeControl.plan}); a plan is changed by review, not by an update it governs`,
      ),
    );
  }
  return out;
}

/** A narrowing (everything the candidate accepts, the active version accepted too) or a change. */
function intendedUseChange(a: ModelIntendedUse, b: ModelIntendedUse): Modification {
  const wider: string[] = [];
  const notIn = (field: string, from: readonly string[], to: readonly string[]): void => {
    const added = to.filter((v) => !from.includes(v));
    if (added.length > 0) wider.push(`${field} adds ${added.join(', ')}`);
  };
  notIn('modalities', a.modalities, b.modalities);
  notIn('body parts', a.bodyParts, b.bodyParts);
  notIn('photometric', a.photometric, b.photometric);
  notIn('allowed missing attributes', a.allowMissing ?? [], b.allowMissing ?? []);
  if (a.viewPositions.length > 0 && b.viewPositions.length === 0)
    wider.push('views: any view instead of ' + a.viewPositions.join(', '));
  else if (a.viewPositions.length > 0) notIn('views', a.viewPositions, b.viewPositions);
  if (b.minRows < a.minRows || b.minColumns < a.minColumns)
    wider.push(`minimum size ${a.minRows}×${a.minColumns} → ${b.minRows}×${b.minColumns}`);
  if (b.bitsStored.min < a.bitsStored.min || b.bitsStored.max > a.bitsStored.max) {
    wider.push(
      `bits stored ${a.bitsStored.min}–${a.bitsStored.max} → ${b.bitsStored.min}–${b.bitsStored.max}`,
    );
  }
  // An exclusion is "<what>: <why>" (or only <what>): it still holds when the candidate
  // excludes the same <what> for another reason, which is a text to review, not a widening.
  const candidateExcludes = new Set(b.notFor.map(excludedSubject));
  const dropped = a.notFor.filter((v) => !candidateExcludes.has(excludedSubject(v)));
  const reworded = a.notFor.filter(
    (v) => !b.notFor.includes(v) && candidateExcludes.has(excludedSubject(v)),
  );
  if (dropped.length > 0)
    wider.push(`no longer excluded: ${dropped.map((v) => `"${v}"`).join('; ')}`);
  const notes = [
    ...(reworded.length > 0
      ? [
          `the reason given for excluding ${reworded.map((v) => `"${excludedSubject(v)}"`).join(', ')} changed: review it`,
        ]
      : []),
    ...(a.summary === b.summary ? [] : ['the summary text changed too: review it']),
  ];
  const review = notes.length === 0 ? '' : ` (${notes.join('; ')})`;
  return wider.length === 0
    ? modification('intended-use-narrowing', `the intended use is narrower${review}`)
    : modification(
        'intended-use-change',
        `the intended use is wider: ${wider.join('; ')}${review}`,
      );
}

/** What an exclusion excludes: the text before its first ": ", else all of it, lower-cased. */
function excludedSubject(exclusion: string): string {
  const colon = exclusion.indexOf(': ');
  return (colon < 0 ? exclusion : exclusion.slice(0, colon)).trim().toLowerCase();
}

/** Structure (nodes, weight shapes, graph inputs/outputs) and which weights changed. */
async function networkChanges(
  current: ModelPackage,
  candidate: ModelPackage,
): Promise<Modification[]> {
  if (current.manifest.files['model.onnx'] === candidate.manifest.files['model.onnx']) return [];
  const [a, b] = await Promise.all([readOnnx(current), readOnnx(candidate)]);
  if (structure(a) !== structure(b)) {
    return [
      modification(
        'architecture',
        `the network's graph differs (${a.graph.node.length} → ${b.graph.node.length} nodes, ${a.graph.initializer.length} → ${b.graph.initializer.length} weight tensors)`,
      ),
    ];
  }
  const weightsA = new Map(a.graph.initializer.map((t) => [t.name, tensorHash(t)]));
  const changed = b.graph.initializer
    .filter((t) => weightsA.get(t.name) !== tensorHash(t))
    .map((t) => t.name);
  if (changed.length === 0) return [];
  const explanation = candidate.manifest.explanation;
  const head = explanation.method === 'cam' ? [explanation.headWeight, explanation.headBias] : [];
  if (changed.every((name) => head.includes(name))) {
    return [modification('head-refit', `only the linear head changed (${changed.join(', ')})`)];
  }
  return [
    modification(
      'network-retrain',
      `${changed.length} of ${b.graph.initializer.length} weight tensors changed, beyond the linear head`,
    ),
  ];
}

async function readOnnx(pkg: ModelPackage): Promise<OnnxModel> {
  return readOnnxModel(await readFile(pkg.modelPath), pkg.modelPath);
}

function structure(model: OnnxModel): string {
  const g = model.graph;
  return canonical({
    nodes: g.node.map((n) => ({
      op: n.opType,
      domain: n.domain ?? '',
      input: n.input,
      output: n.output,
      attributes: (n.attribute ?? []).map((at) => ({
        ...at,
        t: at.t === undefined ? undefined : tensorHash(at.t),
      })),
    })),
    weights: g.initializer.map((t) => ({ name: t.name, dims: t.dims, type: t.dataType })),
    inputs: g.input.map((v) => ({ name: v.name, type: v.type })),
    outputs: g.output.map((v) => ({ name: v.name, type: v.type })),
    opset: model.opsetImport,
  });
}

function tensorHash(t: {
  rawData?: Uint8Array;
  floatData?: number[];
  int32Data?: number[];
  int64Data?: number[];
  doubleData?: number[];
  dims: number[];
  dataType: number;
}): string {
  const hash = createHash('sha256').update(`${t.dataType}|${t.dims.join(',')}|`);
  if (t.rawData !== undefined && t.rawData.length > 0) hash.update(t.rawData);
  else
    hash.update(
      JSON.stringify([t.floatData ?? [], t.int32Data ?? [], t.int64Data ?? [], t.doubleData ?? []]),
    );
  return hash.digest('hex');
}
