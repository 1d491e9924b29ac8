import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isRadiolensError } from '../../foundation/core/index.js';
import { accepts, destinationLabel, parseDestination, type DeliveryPayload } from './index.js';

function rejects(spec: string, pattern: RegExp): void {
  assert.throws(
    () => parseDestination(spec),
    (e: unknown) =>
      isRadiolensError(e) &&
      e.code === 'E_BAD_INPUT' &&
      pattern.test(e.message) &&
      /use one of dicom:\/\/AET@host:port/.test(e.message),
    spec,
  );
}

test('dicom://AET@host:port, including IPv6 and AE titles with spaces or @', () => {
  assert.deepEqual(parseDestination('dicom://PACS@pacs.hospital.org:104'), {
    kind: 'dicom',
    aeTitle: 'PACS',
    host: 'pacs.hospital.org',
    port: 104,
  });
  assert.deepEqual(parseDestination(' dicom://MY PACS@10.0.0.5:11112 '), {
    kind: 'dicom',
    aeTitle: 'MY PACS',
    host: '10.0.0.5',
    port: 11112,
  });
  assert.deepEqual(parseDestination('dicom://A@B@[::1]:4242'), {
    kind: 'dicom',
    aeTitle: 'A@B',
    host: '::1',
    port: 4242,
  });
});

test('bad DICOM destinations are refused with the reason and the accepted forms', () => {
  rejects('dicom://pacs:104', /no AE title/);
  rejects('dicom://@pacs:104', /AE title ""/);
  rejects('dicom://ABCDEFGHIJKLMNOPQ@pacs:104', /AE title "ABCDEFGHIJKLMNOPQ"/);
  rejects('dicom://A\\B@pacs:104', /without a backslash/);
  rejects('dicom://A\tB@pacs:104', /AE title/);
  rejects('dicom://    @pacs:104', /AE title/);
  rejects('dicom://PACS@pacs', /no port/);
  rejects('dicom://PACS@pacs:0', /outside 1–65535/);
  rejects('dicom://PACS@pacs:65536', /outside 1–65535/);
  rejects('dicom://PACS@pacs:abc', /not a number/);
  rejects('dicom://PACS@pa cs:104', /not a host name/);
  rejects('dicom://PACS@[pacs]:104', /not an IPv6 address/);
  rejects('dicom:PACS@pacs:104', /not of the form/);
});

test('DICOMweb and FHIR base URLs: trailing slashes dropped, credentials refused', () => {
  assert.deepEqual(parseDestination('dicomweb+http://127.0.0.1:8042/dicom-web/'), {
    kind: 'dicomweb',
    baseUrl: 'http://127.0.0.1:8042/dicom-web',
  });
  assert.deepEqual(parseDestination('dicomweb+https://pacs.example/wado'), {
    kind: 'dicomweb',
    baseUrl: 'https://pacs.example/wado',
  });
  assert.deepEqual(parseDestination('fhir+https://ehr.example:8443/fhir/R4'), {
    kind: 'fhir',
    baseUrl: 'https://ehr.example:8443/fhir/R4',
  });
  assert.deepEqual(parseDestination('FHIR+HTTP://ehr.example/'), {
    kind: 'fhir',
    baseUrl: 'http://ehr.example',
  });
  assert.throws(
    () => parseDestination('fhir+https://user:secret@ehr.example/fhir'),
    (e: unknown) =>
      isRadiolensError(e) && /credentials/.test(e.message) && !e.message.includes('secret'),
  );
  rejects('fhir+https://ehr.example/fhir?x=1', /query or fragment/);
  rejects('dicomweb+http://', /not a valid URL/);
  rejects('dicomweb+ftp://pacs/', /unknown scheme "dicomweb\+ftp:"/);
  rejects('http://pacs/dicom-web', /unknown scheme "http:"/);
});

test('file:///absolute/path only', () => {
  assert.deepEqual(parseDestination('file:///srv/results/'), {
    kind: 'folder',
    path: '/srv/results',
  });
  assert.deepEqual(parseDestination('file:///srv/AI%20results'), {
    kind: 'folder',
    path: '/srv/AI results',
  });
  rejects('file://relative/path', /not a local file URL/);
  rejects('file:relative', /not an absolute file URL/);
  rejects('/srv/results', /no scheme/);
  rejects('', /no scheme/);
});

test('the label is canonical and parses back to the same destination', () => {
  for (const spec of [
    'dicom://PACS@pacs.hospital.org:104',
    'dicom://MY PACS@[::1]:11112',
    'dicomweb+http://127.0.0.1:8042/dicom-web',
    'fhir+https://ehr.example/fhir',
    'file:///srv/AI%20results',
  ]) {
    const destination = parseDestination(spec);
    assert.equal(destinationLabel(destination), spec);
    assert.deepEqual(parseDestination(destinationLabel(destination)), destination);
  }
  assert.equal(
    destinationLabel(parseDestination('dicomweb+http://127.0.0.1:8042/dicom-web///')),
    'dicomweb+http://127.0.0.1:8042/dicom-web',
  );
});

test('accepts: DICOM objects go to DICOM places and folders, bundles to FHIR and folders', () => {
  const dicom: DeliveryPayload = {
    kind: 'dicom',
    file: '/x.dcm',
    studyInstanceUid: '1.2',
    sopInstanceUid: '1.2.3',
  };
  const bundle: DeliveryPayload = { kind: 'fhir-bundle', file: '/b.json', studyInstanceUid: '1.2' };
  const table = [
    ['dicom://P@h:104', true, false],
    ['dicomweb+http://h/dw', true, false],
    ['fhir+http://h/fhir', false, true],
    ['file:///out', true, true],
  ] as const;
  for (const [spec, takesDicom, takesBundle] of table) {
    assert.equal(accepts(parseDestination(spec), dicom), takesDicom, spec);
    assert.equal(accepts(parseDestination(spec), bundle), takesBundle, spec);
  }
});
