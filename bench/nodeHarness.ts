/**
 * What the node benchmarks share: `radiolens serve` as a child process on loopback, dcmtk's
 * storescu as the sending modality, and a synthetic CT series to send.
 */
import { execFile } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { deriveUid } from '../src/foundation/core/index.js';
import { encodeDicomPart10 } from '../src/foundation/dicom/index.js';
import { ServeProcess } from '../test/support/node.js';
import { freeLoopbackPort } from '../test/support/orthanc.js';

const run = promisify(execFile);

/** `radiolens serve` on loopback without a watched folder; `extra` adds flags (models, workers). */
export async function startServe(
  dataDir: string,
  extra: readonly string[] = [],
): Promise<ServeProcess> {
  return ServeProcess.start([
    '--data',
    dataDir,
    '--host',
    '127.0.0.1',
    '--dicom-port',
    String(await freeLoopbackPort()),
    '--http-port',
    String(await freeLoopbackPort()),
    '--allow',
    'BENCH',
    '--no-watch',
    ...extra,
  ]);
}

export function dicomPortOf(serve: ServeProcess): number {
  const started = serve.logs().find((l) => l.event === 'node-started');
  return Number(started?.['dicomPort']);
}

/** storescu with Nagle off (TCP_NODELAY=1), so the sender never waits for a delayed ACK. */
export function storescu(
  aeTitle: string,
  port: number,
  files: readonly string[],
  options: string[] = [],
): Promise<{ stdout: string; stderr: string }> {
  return run(
    'storescu',
    [...options, '-aet', 'BENCH', '-aec', aeTitle, '127.0.0.1', String(port), ...files],
    { maxBuffer: 64 * 1024 * 1024, env: { ...process.env, TCP_NODELAY: '1' } },
  );
}

/** A synthetic CT series (16-bit signed, `side`², distinct UIDs per `label`), one file per slice. */
export async function writeCtSeries(
  dir: string,
  count: number,
  options: { label?: string; side?: number } = {},
): Promise<string[]> {
  const label = options.label ?? 'ct';
  const side = options.side ?? 512;
  await mkdir(dir, { recursive: true });
  const study = deriveUid('node-bench', label, 'study');
  const series = deriveUid('node-bench', label, 'series');
  const pixels = new Int16Array(side * side);
  const files: string[] = [];
  for (let i = 1; i <= count; i++) {
    for (let p = 0; p < pixels.length; p++) pixels[p] = ((p * 7919 + i * 104729) % 2400) - 1024;
    const dataset = {
      SOPClassUID: '1.2.840.10008.5.1.4.1.1.2',
      SOPInstanceUID: deriveUid('node-bench', label, 'instance', String(i)),
      StudyInstanceUID: study,
      SeriesInstanceUID: series,
      PatientName: 'Bench^Synthetic',
      PatientID: 'BENCHCT',
      Modality: 'CT',
      InstanceNumber: String(i),
      ImagePositionPatient: ['0', '0', String(i * 0.625)],
      ImageOrientationPatient: ['1', '0', '0', '0', '1', '0'],
      PixelSpacing: ['0.7', '0.7'],
      SliceThickness: '0.625',
      SamplesPerPixel: 1,
      PhotometricInterpretation: 'MONOCHROME2',
      Rows: side,
      Columns: side,
      BitsAllocated: 16,
      BitsStored: 16,
      HighBit: 15,
      PixelRepresentation: 1,
      RescaleIntercept: '0',
      RescaleSlope: '1',
      PixelData: new Uint8Array(pixels.buffer.slice(0)),
      _vrMap: { PixelData: 'OW' },
    };
    const file = join(dir, `ct${String(i).padStart(4, '0')}.dcm`);
    await writeFile(file, encodeDicomPart10(dataset));
    files.push(file);
  }
  return files;
}
