/**
 * The slice of dcmjs that the reader uses, behind a typed interface (dcmjs ships no type
 * declarations; createRequire avoids an ambient `declare module` that could clash with other
 * folders').
 */
import { createRequire } from 'node:module';

export interface DcmjsElement {
  vr?: string;
  Value?: unknown;
}

export interface DcmjsDicomDict {
  meta: Record<string, DcmjsElement>;
  dict: Record<string, DcmjsElement>;
}

interface DcmjsData {
  DicomMessage: {
    readFile(
      buffer: ArrayBuffer,
      options: {
        ignoreErrors: boolean;
        untilTag: string | null;
        includeUntilTagValue: boolean;
        noCopy: boolean;
      },
    ): DcmjsDicomDict;
  };
  DicomMetaDictionary: {
    naturalizeDataset(dict: Record<string, DcmjsElement>): Record<string, unknown>;
  };
}

const dcmjs = createRequire(import.meta.url)('dcmjs') as { data: DcmjsData };

/** Reads a Part 10 buffer up to (not including) the value of top-level Pixel Data. */
export function readPart10UntilPixelData(
  buffer: ArrayBuffer,
  ignoreErrors = false,
): DcmjsDicomDict {
  return dcmjs.data.DicomMessage.readFile(buffer, {
    ignoreErrors,
    untilTag: '7FE00010',
    includeUntilTagValue: false,
    noCopy: true,
  });
}

export function naturalize(dict: Record<string, DcmjsElement>): Record<string, unknown> {
  return dcmjs.data.DicomMetaDictionary.naturalizeDataset(dict);
}
