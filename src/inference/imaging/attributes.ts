/**
 * Reading numeric attributes from a dcmjs naturalized dataset. dcmjs gives DS/IS values as a
 * number, a string, or an array of either (multi-valued), and an undecoded string may still
 * hold the DICOM backslash separator; every caller goes through these two helpers so that
 * parsing happens once, at the edge.
 */
import type { DatasetLike } from './types.js';

/** All numeric values of an attribute; [] when absent, empty or unparsable. */
export function numbers(dataset: DatasetLike, keyword: string): number[] {
  return toNumbers(dataset[keyword]);
}

/** The first numeric value of an attribute, or undefined. */
export function firstNumber(dataset: DatasetLike, keyword: string): number | undefined {
  return toNumbers(dataset[keyword])[0];
}

/** A code string attribute, trimmed and upper-cased (CS values are case-insensitive in practice). */
export function codeString(dataset: DatasetLike, keyword: string): string | undefined {
  const value = dataset[keyword];
  const first = Array.isArray(value) ? value[0] : value;
  if (typeof first !== 'string') return undefined;
  const text = first.split('\\')[0]?.trim().toUpperCase();
  return text === undefined || text === '' ? undefined : text;
}

/** A text/UID attribute as a trimmed string, or undefined. */
export function text(dataset: DatasetLike, keyword: string): string | undefined {
  const value = dataset[keyword];
  const first = Array.isArray(value) ? value[0] : value;
  if (typeof first === 'number') return String(first);
  if (typeof first !== 'string') return undefined;
  const trimmed = first.replace(/\0/g, '').trim();
  return trimmed === '' ? undefined : trimmed;
}

/** The items of a sequence attribute ([] when absent). */
export function sequenceItems(dataset: DatasetLike, keyword: string): DatasetLike[] {
  const value = dataset[keyword];
  if (Array.isArray(value)) {
    return value.filter((item): item is DatasetLike => typeof item === 'object' && item !== null);
  }
  // dcmjs naturalizes a one-item sequence as an array, but hand-built datasets may not.
  if (typeof value === 'object' && value !== null && !ArrayBuffer.isView(value)) {
    return [value as DatasetLike];
  }
  return [];
}

function toNumbers(value: unknown): number[] {
  if (value === undefined || value === null) return [];
  if (typeof value === 'number') return Number.isFinite(value) ? [value] : [];
  if (typeof value === 'string') {
    return value
      .split('\\')
      .map((part) => part.trim())
      .filter((part) => part !== '')
      .map(Number)
      .filter(Number.isFinite);
  }
  if (Array.isArray(value)) return value.flatMap(toNumbers);
  return [];
}
