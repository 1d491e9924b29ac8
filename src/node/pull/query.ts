/** Which study (or studies) to pull: by Study Instance UID, or by Accession Number. */
export type StudyQuery =
  { readonly studyInstanceUid: string } | { readonly accessionNumber: string };

/** What the query asks for, in words, without repeating the identifier (no PHI in messages). */
export function describeQuery(query: StudyQuery): string {
  return 'studyInstanceUid' in query
    ? 'the Study Instance UID given (--study)'
    : 'the Accession Number given (--accession)';
}

/** A study the peer says it has. */
export interface StudyMatch {
  readonly studyInstanceUid: string;
  /** SOP Classes in Study (0008,0062) when the peer returns it; [] when it does not. */
  readonly sopClassUids: readonly string[];
  /** Number of Study Related Instances (0020,1208), when the peer returns it. */
  readonly instanceCount: number | null;
}
