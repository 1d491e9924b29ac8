import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { StudyOutcome } from '../../inference/analysis/index.js';
import type { ResultArtifact } from '../../inference/results/index.js';
import { parseDestination } from '../delivery/index.js';
import { outboxItemsFor } from './worker.js';

const STUDY = '1.2.826.0.1.3680043.8.498.1';

function outcome(artifacts: ResultArtifact[]): StudyOutcome {
  return {
    studyInstanceUid: STUDY,
    model: { id: 'm', version: '1.0.0' },
    record: null,
    problem: null,
    warnings: [],
    caveats: [],
    ood: {},
    inputs: {},
    artifacts,
    // Deliberately not the artifacts' paths: delivery must follow the typed list.
    outputs: { sr: null, sc: [], pm: [], fhir: null, summary: '/out/analysis.json' },
  };
}

const dicom = (kind: 'sr' | 'sc', path: string, uid: string): ResultArtifact => ({
  kind,
  // A name that says nothing about the UID: the UID comes from the artifact, not the file.
  path,
  mediaType: 'application/dicom',
  dicom: {
    sopClassUid: '1.2.840.10008.5.1.4.1.1.7',
    sopInstanceUid: uid,
    seriesInstanceUid: `${uid}.9`,
    modality: kind === 'sr' ? 'SR' : 'OT',
  },
});

test('outboxItemsFor delivers every typed DICOM artifact by its SOP Instance UID, then the FHIR bundle', () => {
  const artifacts: ResultArtifact[] = [
    { kind: 'fhir', path: '/out/bundle.json', mediaType: 'application/fhir+json' },
    { kind: 'heatmap-png', path: '/out/heatmaps/a.png', mediaType: 'image/png' },
    dicom('sc', '/out/second.dcm', '2.25.2'),
    dicom('sr', '/out/first.dcm', '2.25.1'),
    dicom('sc', '/out/third.dcm', '2.25.3'),
  ];
  const destinations = [
    parseDestination('dicom://PACS@127.0.0.1:4242'),
    parseDestination('fhir+http://127.0.0.1:8080/fhir'),
  ];
  const items = outboxItemsFor(outcome(artifacts), destinations);
  assert.deepEqual(
    items.map((item) => [item.key, item.payload.file]),
    [
      ['dicom://PACS@127.0.0.1:4242|2.25.1', '/out/first.dcm'],
      ['dicom://PACS@127.0.0.1:4242|2.25.2', '/out/second.dcm'],
      ['dicom://PACS@127.0.0.1:4242|2.25.3', '/out/third.dcm'],
      ['fhir+http://127.0.0.1:8080/fhir|fhir|' + STUDY + '|m@1.0.0', '/out/bundle.json'],
    ],
  );
  for (const item of items) {
    if (item.payload.kind === 'dicom') {
      assert.equal(item.payload.studyInstanceUid, STUDY);
      assert.match(item.payload.sopInstanceUid, /^2\.25\.\d$/);
    }
  }
});

test('outboxItemsFor sends nothing when the analysis wrote nothing', () => {
  const items = outboxItemsFor(outcome([]), [parseDestination('file:///tmp/out')]);
  assert.deepEqual(items, []);
});
