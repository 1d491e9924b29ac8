/**
 * The one place that loads dcmjs (issue #14: one adapter). dcmjs ships CommonJS without
 * type declarations; it is loaded once with createRequire and given the narrow type below
 * (what Radiolens uses of it), instead of ambient `declare module` typings that could clash.
 * Everything else reaches dcmjs through the functions exported here, in the tag-keyed
 * dataset types of taggedDataset.ts.
 */
import { createRequire } from 'node:module';
import type { TaggedDataset, TaggedFile } from './taggedDataset.js';

interface DcmjsDicomDict {
  meta: TaggedDataset;
  dict: TaggedDataset;
  write(options?: { allowInvalidVRLength?: boolean; fragmentMultiframe?: boolean }): ArrayBuffer;
}

interface DictionaryEntry {
  tag: string;
  vr: string;
  name: string;
}

interface Dcmjs {
  data: {
    DicomMessage: {
      readFile(
        buffer: ArrayBuffer,
        options?: {
          ignoreErrors?: boolean;
          untilTag?: string | null;
          includeUntilTagValue?: boolean;
          noCopy?: boolean;
        },
      ): DcmjsDicomDict;
    };
    DicomDict: new (meta: TaggedDataset) => DcmjsDicomDict;
    DicomMetaDictionary: {
      dictionary: Record<string, DictionaryEntry | undefined>;
      nameMap: Record<string, DictionaryEntry | undefined>;
      naturalizeDataset(dict: TaggedDataset): Record<string, unknown>;
    };
  };
  log: {
    setLevel(level: string): void;
    getLogger(name: string): { setLevel(level: string): void };
  };
}

const dcmjs = createRequire(import.meta.url)('dcmjs') as Dcmjs;
// dcmjs logs dictionary fallbacks (e.g. "Invalid vr type xs") to the console on every file.
dcmjs.log.setLevel('error');
// Unknown VRs in implicit files ("xs", "ox") are expected and resolved by dcmjs itself.
dcmjs.log.getLogger('validation.dcmjs').setLevel('silent');

export interface DcmjsReadOptions {
  /** Go on past damaged elements where dcmjs can (default false). */
  ignoreErrors?: boolean;
  /** Stop before the value of top-level Pixel Data (7FE0,0010), which is then absent. */
  untilPixelData?: boolean;
}

/** dcmjs' Part 10 reader: a whole file (or its header) as tag-keyed datasets. */
export function dcmjsReadPart10(buffer: ArrayBuffer, options: DcmjsReadOptions = {}): TaggedFile {
  const parsed = dcmjs.data.DicomMessage.readFile(
    buffer,
    options.untilPixelData === true
      ? {
          ignoreErrors: options.ignoreErrors ?? false,
          untilTag: '7FE00010',
          includeUntilTagValue: false,
          noCopy: true,
        }
      : { ignoreErrors: options.ignoreErrors ?? false },
  );
  if (options.untilPixelData === true) delete parsed.dict['7FE00010'];
  return { meta: parsed.meta, dict: parsed.dict };
}

/**
 * dcmjs' Part 10 writer, for the transfer syntaxes our own encoder (part10Writer.ts) does not
 * write. fragmentMultiframe false: encapsulated frames are written back as the fragments read.
 */
export function dcmjsWritePart10(file: TaggedFile): Uint8Array {
  const dict = new dcmjs.data.DicomDict(file.meta);
  dict.dict = file.dict;
  return new Uint8Array(dict.write({ allowInvalidVRLength: true, fragmentMultiframe: false }));
}

/** Keyword-keyed ("naturalized") form of a tag-keyed dataset. */
export function dcmjsNaturalize(dict: TaggedDataset): Record<string, unknown> {
  return dcmjs.data.DicomMetaDictionary.naturalizeDataset(dict);
}

/** The data dictionary's entry for a standard tag (8 hex digits). */
export function dictionaryEntry(tag: string): DictionaryEntry | undefined {
  return dcmjs.data.DicomMetaDictionary.dictionary[`(${tag.slice(0, 4)},${tag.slice(4)})`];
}

/** The data dictionary's entry for a keyword such as "PatientName". */
export function dictionaryEntryByKeyword(keyword: string): DictionaryEntry | undefined {
  return dcmjs.data.DicomMetaDictionary.nameMap[keyword];
}
