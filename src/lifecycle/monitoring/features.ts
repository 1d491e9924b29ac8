/**
 * The features a drift monitor compares (ADR 0087), one value per analysed image:
 *
 * - inputs: the acquisition facts of the header (categorical: a new manufacturer, view or
 *   photometric shows as a new category; a missing attribute as "(absent)"), kVp and matrix
 *   size, statistics of the pixels the model saw, the OOD distance and whether it was flagged;
 * - outputs: each label's probability and its verdict at the operating point;
 * - feedback: whether the verdict agreed with the radiologist's answer, where there is one.
 */
import type { AnalysedImage } from './analysisRecords.js';

export type FeatureGroup = 'input' | 'output' | 'feedback';

/** The truth for an image and label: 1, 0, or null when nobody has answered. */
export type TruthLookup = (image: AnalysedImage, label: string) => 0 | 1 | null;

export type MonitoredFeature =
  | {
      readonly name: string;
      readonly group: FeatureGroup;
      readonly kind: 'numeric';
      /** null: not recorded for this image (left out of the comparison). */
      readonly value: (image: AnalysedImage, truth: TruthLookup) => number | null;
    }
  | {
      readonly name: string;
      readonly group: FeatureGroup;
      readonly kind: 'categorical';
      readonly value: (image: AnalysedImage, truth: TruthLookup) => string | null;
    };

/** The category of an attribute the header lacks: its disappearance is a change too. */
export const ABSENT = '(absent)';

type Acquisition = NonNullable<AnalysedImage['inputs']>['acquisition'];
type Pixels = NonNullable<AnalysedImage['inputs']>['pixels'];

function header(name: string, key: keyof Acquisition): MonitoredFeature {
  return {
    name,
    group: 'input',
    kind: 'categorical',
    value: (image) => {
      if (image.inputs === null) return null;
      const value = image.inputs.acquisition[key];
      return value === null ? ABSENT : String(value);
    },
  };
}

function headerNumber(name: string, key: 'kvp' | 'rows' | 'columns'): MonitoredFeature {
  return {
    name,
    group: 'input',
    kind: 'numeric',
    value: (image) => image.inputs?.acquisition[key] ?? null,
  };
}

function pixels(name: string, key: keyof Pixels): MonitoredFeature {
  return {
    name,
    group: 'input',
    kind: 'numeric',
    value: (image) => image.inputs?.pixels[key] ?? null,
  };
}

/** Every monitored feature for a model with these label ids, in report order. */
export function monitoredFeatures(labels: readonly string[]): MonitoredFeature[] {
  return [
    header('modality', 'modality'),
    header('manufacturer', 'manufacturer'),
    header('manufacturer model', 'manufacturerModelName'),
    header('view position', 'viewPosition'),
    header('body part', 'bodyPartExamined'),
    header('photometric interpretation', 'photometricInterpretation'),
    header('bits stored', 'bitsStored'),
    header('pixel spacing', 'pixelSpacing'),
    headerNumber('kVp', 'kvp'),
    headerNumber('rows', 'rows'),
    headerNumber('columns', 'columns'),
    pixels('pixel mean', 'mean'),
    pixels('pixel standard deviation', 'std'),
    pixels('pixel 5th percentile', 'p05'),
    pixels('pixel median', 'p50'),
    pixels('pixel 95th percentile', 'p95'),
    {
      name: 'OOD distance',
      group: 'input',
      kind: 'numeric',
      value: (image) => image.ood?.distance ?? null,
    },
    {
      name: 'OOD rate',
      group: 'input',
      kind: 'categorical',
      value: (image) => (image.ood === null ? null : image.ood.flagged ? 'flagged' : 'not flagged'),
    },
    ...labels.flatMap((label): MonitoredFeature[] => [
      {
        name: `score: ${label}`,
        group: 'output',
        kind: 'numeric',
        value: (image) => image.findings[label]?.probability ?? null,
      },
      {
        name: `positive rate: ${label}`,
        group: 'output',
        kind: 'categorical',
        value: (image) => {
          const finding = image.findings[label];
          return finding === undefined ? null : finding.present ? 'positive' : 'negative';
        },
      },
      {
        name: `agreement with radiologists: ${label}`,
        group: 'feedback',
        kind: 'categorical',
        value: (image, truth) => {
          const finding = image.findings[label];
          const answer = truth(image, label);
          if (finding === undefined || answer === null) return null;
          return finding.present === (answer === 1) ? 'agree' : 'disagree';
        },
      },
    ]),
  ];
}

export const noTruth: TruthLookup = () => null;
