/**
 * C-FIND, Study Root, STUDY level (PS3.4 C.6.2): does the peer have the study, what is its
 * Study Instance UID when an Accession Number was given, and which SOP classes does it hold
 * (so the C-GET can propose exactly those storage contexts in every transfer syntax).
 */
import dcmjsDimse from 'dcmjs-dimse';
import { RadiolensError, isValidUid } from '../../foundation/core/index.js';
import {
  EXPLICIT_VR_LITTLE_ENDIAN,
  IMPLICIT_VR_LITTLE_ENDIAN,
} from '../../foundation/dicom/index.js';
import { runAssociation } from './dimseAssociation.js';
import type { StudyMatch, StudyQuery } from './query.js';
import type { DicomPeer } from './source.js';

const { CFindRequest } = dcmjsDimse.requests;
const { Status } = dcmjsDimse.constants;

export const STUDY_ROOT_FIND = '1.2.840.10008.5.1.4.1.2.2.1';
const NATIVE_SYNTAXES = [EXPLICIT_VR_LITTLE_ENDIAN, IMPLICIT_VR_LITTLE_ENDIAN];

function strings(value: unknown): string[] {
  if (typeof value === 'string')
    return value
      .split('\\')
      .map((v) => v.trim())
      .filter(Boolean);
  if (Array.isArray(value)) return value.flatMap(strings);
  // dcmjs naturalizes IS/DS values (Number of Study Related Instances) to numbers.
  if (typeof value === 'number' && Number.isFinite(value)) return [String(value)];
  return [];
}

export async function findStudiesDimse(
  peer: DicomPeer,
  callingAeTitle: string,
  query: StudyQuery,
  options: { timeoutMs?: number } = {},
): Promise<StudyMatch[]> {
  const request = CFindRequest.createStudyFindRequest({
    StudyInstanceUID: 'studyInstanceUid' in query ? query.studyInstanceUid : '',
    AccessionNumber: 'accessionNumber' in query ? query.accessionNumber : '',
    SOPClassesInStudy: '',
    NumberOfStudyRelatedInstances: '',
  });
  const matches: StudyMatch[] = [];
  let finalStatus: number | null = null;
  let errorComment = '';
  request.on('response', (response: dcmjsDimse.responses.CFindResponse) => {
    const status = response.getStatus();
    if (status === Status.Pending || status === 0xff01) {
      const dataset = response.getDataset();
      if (dataset === undefined) return;
      const uid = strings(dataset.getElement('StudyInstanceUID'))[0] ?? '';
      if (!isValidUid(uid)) return; // an identifier we cannot use is no match
      if (
        'accessionNumber' in query &&
        (strings(dataset.getElement('AccessionNumber'))[0] ?? '') !== query.accessionNumber.trim()
      ) {
        return; // matched by a wildcard or a fuzzy rule on the peer, not the number asked for
      }
      const count = Number(strings(dataset.getElement('NumberOfStudyRelatedInstances'))[0]);
      matches.push({
        studyInstanceUid: uid,
        sopClassUids: strings(dataset.getElement('SOPClassesInStudy')).filter(isValidUid),
        instanceCount: Number.isInteger(count) ? count : null,
      });
    } else {
      finalStatus = status;
      errorComment = response.getErrorComment() ?? '';
    }
  });
  await runAssociation({
    peer,
    callingAeTitle,
    contexts: [{ abstractSyntaxUid: STUDY_ROOT_FIND, transferSyntaxUids: NATIVE_SYNTAXES }],
    request,
    ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
  });
  if (finalStatus !== Status.Success) {
    throw new RadiolensError(
      'E_PEER',
      `DICOM peer ${peer.aeTitle}@${peer.host}:${peer.port} answered the C-FIND with status 0x${(finalStatus ?? 0).toString(16).padStart(4, '0')}${errorComment ? ` (${errorComment})` : ''}`,
    );
  }
  // A peer may match on more than asked (e.g. wildcards); keep only exact answers.
  return 'studyInstanceUid' in query
    ? matches.filter((m) => m.studyInstanceUid === query.studyInstanceUid)
    : uniqueByUid(matches);
}

function uniqueByUid(matches: readonly StudyMatch[]): StudyMatch[] {
  const seen = new Map<string, StudyMatch>();
  for (const match of matches)
    if (!seen.has(match.studyInstanceUid)) seen.set(match.studyInstanceUid, match);
  return [...seen.values()];
}
