import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parsePullSource, pullSourceLabel } from './index.js';

test('pull sources: the two URL forms, canonical labels', () => {
  const dicom = parsePullSource('dicom://ORTHANC@127.0.0.1:4242');
  assert.deepEqual(dicom, { kind: 'dicom', aeTitle: 'ORTHANC', host: '127.0.0.1', port: 4242 });
  assert.equal(pullSourceLabel(dicom), 'dicom://ORTHANC@127.0.0.1:4242');
  const ipv6 = parsePullSource('dicom://PACS@[::1]:104');
  assert.equal(ipv6.kind === 'dicom' && ipv6.host, '::1');
  assert.equal(pullSourceLabel(ipv6), 'dicom://PACS@[::1]:104');
  assert.deepEqual(parsePullSource('dicomweb+http://pacs:8042/dicom-web/'), {
    kind: 'dicomweb',
    baseUrl: 'http://pacs:8042/dicom-web',
  });
  assert.deepEqual(parsePullSource('dicomweb+https://pacs.example/wado'), {
    kind: 'dicomweb',
    baseUrl: 'https://pacs.example/wado',
  });
});

test('pull sources: every malformed form is E_BAD_INPUT naming the problem and the accepted forms', () => {
  for (const [spec, why] of [
    ['pacs:4242', /scheme "pacs"/],
    ['not a url', /not a URL/],
    ['dicom://127.0.0.1:4242', /AE title is missing/],
    ['dicom://PACS@127.0.0.1', /port/],
    ['dicom://PACS@127.0.0.1:70000', /not a URL|port/],
    ['dicom://SEVENTEEN_CHARS_AET@h:104', /not a valid AE title/],
    ['dicom://PACS@h:104/path', /no path/],
    ['dicomweb+http://user:pw@pacs/dicom-web', /credentials/],
    ['http://pacs:8042/dicom-web', /scheme "http"/],
    ['fhir+http://ehr/fhir', /cannot be pulled from/],
  ] as const) {
    assert.throws(
      () => parsePullSource(spec),
      (error: Error) => {
        assert.match(error.message, /^E_BAD_INPUT: /, spec);
        assert.match(error.message, why, spec);
        assert.match(error.message, /accepted forms: dicom:\/\/AET@host:port/, spec);
        return true;
      },
    );
  }
});
