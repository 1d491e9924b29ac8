/**
 * QIDO-RS search (PS3.18 §10.6) over the DICOMweb index: studies, series and instances, each
 * answered with the level's required return attributes (Table 10.6.3-3 to -5), the matching
 * keys and includefield attributes taken from the instance metadata, and the counts and
 * RetrieveURL computed from the index.
 */
import type { DicomJsonAttribute, DicomJsonDataset } from './dicomJson.js';
import {
  JOINED_COLUMNS,
  LATEST_VERSION,
  toIndexedInstance,
  type DicomWebIndex,
  type JoinedInstanceRow,
} from './metadataIndex.js';
import type { QidoQuery } from './qidoQuery.js';

const LEVEL_TAGS = {
  study: [
    '00080005',
    '00080020',
    '00080030',
    '00080050',
    '00080090',
    '00100010',
    '00100020',
    '00100030',
    '00100040',
    '0020000D',
    '00200010',
  ],
  series: [
    '00080005',
    '00080060',
    '0008103E',
    '0020000D',
    '0020000E',
    '00200011',
    '00400244',
    '00400245',
  ],
  instance: [
    '00080005',
    '00080016',
    '00080018',
    '00080060',
    '0020000D',
    '0020000E',
    '00200013',
    '00280008',
    '00280010',
    '00280011',
    '00280100',
  ],
} as const;

const GROUP_COLUMN = {
  study: 'i.study_instance_uid',
  series: 'i.series_instance_uid',
  instance: 'i.sop_instance_uid',
} as const;

export interface QidoScope {
  readonly studyInstanceUid?: string;
  readonly seriesInstanceUid?: string;
}

function pick(metadata: DicomJsonDataset, tags: Iterable<string>, into: DicomJsonDataset): void {
  for (const tag of tags) {
    const attribute = metadata[tag];
    // Bulk data is never part of a search result; a client asks WADO-RS for it.
    if (attribute !== undefined && attribute.BulkDataURI === undefined) into[tag] = attribute;
  }
}

function sorted(dataset: DicomJsonDataset): DicomJsonDataset {
  return Object.fromEntries(Object.entries(dataset).sort(([a], [b]) => a.localeCompare(b)));
}

const us = (n: number): DicomJsonAttribute => ({ vr: 'IS', Value: [n] });

/** Runs a QIDO-RS query; `root` is the DICOMweb root URL for RetrieveURL. */
export function searchQido(
  index: DicomWebIndex,
  query: QidoQuery,
  scope: QidoScope,
  root: string,
): DicomJsonDataset[] {
  const db = index.db;
  const where = [LATEST_VERSION, ...query.where];
  const parameters: (string | number)[] = [...query.parameters];
  if (scope.studyInstanceUid !== undefined) {
    where.push('i.study_instance_uid = ?');
    parameters.push(scope.studyInstanceUid);
  }
  if (scope.seriesInstanceUid !== undefined) {
    where.push('i.series_instance_uid = ?');
    parameters.push(scope.seriesInstanceUid);
  }
  const group = GROUP_COLUMN[query.level];
  const matches = db
    .prepare(
      `SELECT ${group} AS k, MIN(i.id) AS rep FROM instances i
       JOIN dicomweb_instances d ON d.instance_id = i.id
       WHERE ${where.join(' AND ')}
       GROUP BY ${group} ORDER BY MIN(i.id) LIMIT ? OFFSET ?`,
    )
    .all(...parameters, query.limit ?? -1, query.offset) as { k: string; rep: number }[];
  const representative = db.prepare(
    `SELECT ${JOINED_COLUMNS} FROM instances i JOIN dicomweb_instances d ON d.instance_id = i.id WHERE i.id = ?`,
  );
  const studyCounts = db.prepare(
    `SELECT COUNT(DISTINCT i.series_instance_uid) AS series, COUNT(*) AS instances,
       group_concat(DISTINCT i.modality) AS modalities
     FROM instances i WHERE i.study_instance_uid = ? AND ${LATEST_VERSION}`,
  );
  const seriesCount = db.prepare(
    `SELECT COUNT(*) AS instances FROM instances i WHERE i.series_instance_uid = ? AND ${LATEST_VERSION}`,
  );
  return matches.map((match) => {
    const instance = toIndexedInstance(representative.get(match.rep) as JoinedInstanceRow);
    const out: DicomJsonDataset = {};
    const extra =
      query.includeFields === 'all' ? Object.keys(instance.metadata) : query.includeFields;
    pick(instance.metadata, [...LEVEL_TAGS[query.level], ...extra], out);
    const studyUrl = `${root}/studies/${instance.studyInstanceUid}`;
    const seriesUrl = `${studyUrl}/series/${instance.seriesInstanceUid}`;
    if (query.level === 'study') {
      const counts = studyCounts.get(instance.studyInstanceUid) as {
        series: number;
        instances: number;
        modalities: string | null;
      };
      const modalities = (counts.modalities ?? '')
        .split(',')
        .filter((m) => m !== '')
        .sort();
      out['00080061'] = modalities.length === 0 ? { vr: 'CS' } : { vr: 'CS', Value: modalities };
      out['00201206'] = us(counts.series);
      out['00201208'] = us(counts.instances);
      out['00081190'] = { vr: 'UR', Value: [studyUrl] };
    } else if (query.level === 'series') {
      const counts = seriesCount.get(instance.seriesInstanceUid) as { instances: number };
      out['00201209'] = us(counts.instances);
      out['00081190'] = { vr: 'UR', Value: [seriesUrl] };
    } else {
      out['00081190'] = { vr: 'UR', Value: [`${seriesUrl}/instances/${instance.sopInstanceUid}`] };
    }
    if (query.level !== 'series') out['00080056'] = { vr: 'CS', Value: ['ONLINE'] };
    return sorted(out);
  });
}
