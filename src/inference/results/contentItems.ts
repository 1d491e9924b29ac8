import { codeItem } from './codes.js';
import type { CodedConcept, DicomDataset } from './types.js';

/**
 * SR content items (PS3.3 C.17.3 Document Content Macro) as dcmjs naturalized items. One
 * function per Value Type; templates (TID 1500 …) compose them.
 */
export type RelationshipType =
  | 'CONTAINS'
  | 'HAS OBS CONTEXT'
  | 'HAS CONCEPT MOD'
  | 'HAS PROPERTIES'
  | 'HAS ACQ CONTEXT'
  | 'INFERRED FROM'
  | 'SELECTED FROM';

export type ContentItem = DicomDataset;

function base(
  relationship: RelationshipType,
  valueType: string,
  name: CodedConcept | undefined,
): ContentItem {
  const item: ContentItem = { RelationshipType: relationship, ValueType: valueType };
  if (name !== undefined) item['ConceptNameCodeSequence'] = [codeItem(name)];
  return item;
}

function withChildren(item: ContentItem, children: ContentItem[]): ContentItem {
  if (children.length > 0) item['ContentSequence'] = children;
  return item;
}

export function container(
  relationship: RelationshipType,
  name: CodedConcept,
  children: ContentItem[],
): ContentItem {
  return withChildren(
    { ...base(relationship, 'CONTAINER', name), ContinuityOfContent: 'SEPARATE' },
    children,
  );
}

export function text(
  relationship: RelationshipType,
  name: CodedConcept,
  value: string,
): ContentItem {
  return { ...base(relationship, 'TEXT', name), TextValue: value };
}

export function codeValue(
  relationship: RelationshipType,
  name: CodedConcept,
  value: CodedConcept,
  children: ContentItem[] = [],
): ContentItem {
  return withChildren(
    { ...base(relationship, 'CODE', name), ConceptCodeSequence: [codeItem(value)] },
    children,
  );
}

export function uidRef(
  relationship: RelationshipType,
  name: CodedConcept,
  uid: string,
): ContentItem {
  return { ...base(relationship, 'UIDREF', name), UID: uid };
}

/** NUM: Numeric Value is DS, so the caller decides the decimal representation. */
export function num(
  relationship: RelationshipType,
  name: CodedConcept,
  value: string,
  units: CodedConcept,
  children: ContentItem[] = [],
): ContentItem {
  return withChildren(
    {
      ...base(relationship, 'NUM', name),
      MeasuredValueSequence: [
        { NumericValue: value, MeasurementUnitsCodeSequence: [codeItem(units)] },
      ],
    },
    children,
  );
}

export function image(
  relationship: RelationshipType,
  name: CodedConcept | undefined,
  sopClassUid: string,
  sopInstanceUid: string,
  children: ContentItem[] = [],
): ContentItem {
  return withChildren(
    {
      ...base(relationship, 'IMAGE', name),
      ReferencedSOPSequence: [
        { ReferencedSOPClassUID: sopClassUid, ReferencedSOPInstanceUID: sopInstanceUid },
      ],
    },
    children,
  );
}

/**
 * SCOORD (PS3.3 C.18.6): 2D coordinates on one image, which the single IMAGE child names
 * (SELECTED FROM), as TID 1410 "Image Region" and OHIF's SR extension expect.
 */
export function scoord(
  relationship: RelationshipType,
  name: CodedConcept,
  graphicType: 'POINT' | 'POLYLINE',
  points: readonly number[],
  sopClassUid: string,
  sopInstanceUid: string,
): ContentItem {
  return {
    ...base(relationship, 'SCOORD', name),
    GraphicType: graphicType,
    GraphicData: [...points],
    ContentSequence: [image('SELECTED FROM', undefined, sopClassUid, sopInstanceUid)],
  };
}
