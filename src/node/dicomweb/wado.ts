/**
 * WADO-RS retrieve (PS3.18 §10.4) from the node's store: instances as stored (multipart,
 * each file piped from disk), metadata as DICOM JSON (from the index, with absolute
 * BulkDataURIs), frames and bulk data as multipart/related octet streams.
 */
import { once } from 'node:events';
import type { ServerResponse } from 'node:http';
import { join } from 'node:path';
import {
  parseDicom,
  storedFrame,
  EXPLICIT_VR_LITTLE_ENDIAN,
} from '../../foundation/dicom/index.js';
import type { MediaType } from '../../foundation/dicomweb/index.js';
import { acceptsDicomInstances, acceptsFrames } from './accept.js';
import { resolveBulkDataUris } from './dicomJson.js';
import { readBulkValue } from './instanceMetadata.js';
import type { IndexedInstance } from './metadataIndex.js';
import { MultipartWriter } from './multipartWriter.js';
import { DicomWebProblem } from './problem.js';

export function instanceUrl(root: string, instance: IndexedInstance): string {
  return `${root}/studies/${instance.studyInstanceUid}/series/${instance.seriesInstanceUid}/instances/${instance.sopInstanceUid}`;
}

/** The instances as multipart/related; type="application/dicom", each piped from its file. */
export async function retrieveInstances(
  res: ServerResponse,
  dataDir: string,
  instances: readonly IndexedInstance[],
  accept: readonly MediaType[],
  sizeOf: (instance: IndexedInstance) => Promise<number>,
): Promise<void> {
  const syntaxes = new Set(instances.map((i) => i.transferSyntaxUid));
  acceptsDicomInstances(accept, syntaxes);
  const writer = new MultipartWriter(res);
  writer.start('application/dicom');
  for (const instance of instances) {
    await writer.filePart(
      `application/dicom; transfer-syntax=${instance.transferSyntaxUid}`,
      join(dataDir, instance.path),
      await sizeOf(instance),
    );
  }
  await writer.end();
}

/** The metadata of the instances as one DICOM JSON array, written instance by instance. */
export async function retrieveMetadata(
  res: ServerResponse,
  root: string,
  instances: readonly IndexedInstance[],
): Promise<void> {
  res.writeHead(200, { 'content-type': 'application/dicom+json', 'cache-control': 'no-store' });
  let first = true;
  for (const instance of instances) {
    const text = JSON.stringify(
      resolveBulkDataUris(instance.metadata, instanceUrl(root, instance)),
    );
    if (!res.write(`${first ? '[' : ','}${text}`)) await once(res, 'drain');
    first = false;
  }
  await new Promise<void>((resolve) => res.end(first ? '[]' : ']', () => resolve()));
}

/** Frame numbers of a WADO-RS frame list ("1", "1,3,5"), 1-based and in request order. */
export function parseFrameList(list: string): number[] {
  const numbers = list.split(',').map((n) => n.trim());
  if (numbers.length === 0 || numbers.some((n) => !/^[1-9]\d{0,8}$/.test(n))) {
    throw new DicomWebProblem(
      400,
      `frame list "${list.slice(0, 40)}" is not a comma-separated list of frame numbers from 1`,
    );
  }
  return numbers.map(Number);
}

export async function retrieveFrames(
  res: ServerResponse,
  instance: IndexedInstance,
  bytes: Uint8Array,
  frameNumbers: readonly number[],
  accept: readonly MediaType[],
): Promise<void> {
  if (instance.numberOfFrames === 0) {
    throw new DicomWebProblem(404, 'this instance has no pixel data, so it has no frames');
  }
  const beyond = frameNumbers.find((n) => n > instance.numberOfFrames);
  if (beyond !== undefined) {
    throw new DicomWebProblem(
      404,
      `frame ${beyond} does not exist: the instance has ${instance.numberOfFrames} frame(s)`,
    );
  }
  const representation = acceptsFrames(accept, instance.transferSyntaxUid);
  const parsed = parseDicom(bytes, instance.sopInstanceUid);
  const frames = frameNumbers.map((n) => storedFrame(parsed, n - 1).bytes);
  const writer = new MultipartWriter(res);
  writer.start(representation.partType, { 'transfer-syntax': representation.transferSyntax });
  for (const frame of frames) {
    await writer.part(
      `${representation.partType}; transfer-syntax=${representation.transferSyntax}`,
      frame,
    );
  }
  await writer.end();
}

/**
 * Bulk data named by a BulkDataURI path (`7FE00010`, or `SSSSSSSS/item/TTTTTTTT`): Pixel
 * Data as its frames (one part per frame when compressed, one part of all frames when not),
 * any other binary value as one application/octet-stream part.
 */
export async function retrieveBulkData(
  res: ServerResponse,
  instance: IndexedInstance,
  bytes: Uint8Array,
  path: readonly string[],
  accept: readonly MediaType[],
): Promise<void> {
  if (path.length === 1 && path[0] === '7FE00010') {
    if (instance.numberOfFrames === 0)
      throw new DicomWebProblem(404, 'this instance has no Pixel Data');
    const all = Array.from({ length: instance.numberOfFrames }, (_, i) => i + 1);
    const representation = acceptsFrames(accept, instance.transferSyntaxUid);
    const parsed = parseDicom(bytes, instance.sopInstanceUid);
    const frames = all.map((n) => storedFrame(parsed, n - 1));
    const writer = new MultipartWriter(res);
    writer.start(representation.partType, { 'transfer-syntax': representation.transferSyntax });
    const type = `${representation.partType}; transfer-syntax=${representation.transferSyntax}`;
    if (frames[0]?.encapsulated === true) {
      for (const frame of frames) await writer.part(type, frame.bytes);
    } else {
      await writer.part(type, Buffer.concat(frames.map((f) => f.bytes)));
    }
    await writer.end();
    return;
  }
  const value = readBulkValue(bytes, instance.sopInstanceUid, path);
  if (value === undefined) {
    throw new DicomWebProblem(404, `the instance has no binary value at ${path.join('/')}`);
  }
  acceptsFrames(accept, EXPLICIT_VR_LITTLE_ENDIAN);
  const writer = new MultipartWriter(res);
  writer.start('application/octet-stream');
  await writer.part('application/octet-stream', value);
  await writer.end();
}
