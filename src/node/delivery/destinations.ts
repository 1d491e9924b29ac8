/**
 * Where results go (ADR 0100). A destination is configured as one URL-like string and parsed
 * once, at the edge, into a typed value; everything after works with the typed value and its
 * canonical label (used in idempotency keys and log lines, so it never carries credentials).
 */
import { isIP } from 'node:net';
import { isAbsolute, normalize } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { RadiolensError } from '../../foundation/core/index.js';
import { AE_TITLE_RULE, isAeTitle } from '../../foundation/dimse/index.js';

export type Destination =
  | { kind: 'dicom'; aeTitle: string; host: string; port: number }
  | { kind: 'dicomweb'; baseUrl: string }
  | { kind: 'fhir'; baseUrl: string }
  | { kind: 'folder'; path: string };

/**
 * A result file kept in the shared database with its job (ADR 0193): the job and the file's
 * path inside the job's results folder.
 */
export interface ResultFileRef {
  readonly jobId: number;
  readonly name: string;
}

/**
 * What an outbox entry sends: a result file by its path on this host (the embedded node, a
 * shared folder), or — `result` set — by (job id, name) in the shared database, `file` then
 * only saying where the worker wrote it; the deliverer puts such a file where the senders
 * read it before each send.
 */
export type DeliveryPayload =
  | {
      kind: 'dicom';
      file: string;
      result?: ResultFileRef;
      studyInstanceUid: string;
      sopInstanceUid: string;
    }
  | { kind: 'fhir-bundle'; file: string; result?: ResultFileRef; studyInstanceUid: string };

const ACCEPTED_FORMS =
  'dicom://AET@host:port, dicomweb+http(s)://host[:port]/path, fhir+http(s)://host[:port]/path or file:///absolute/path';

function bad(spec: string, why: string): RadiolensError {
  return new RadiolensError(
    'E_BAD_INPUT',
    `destination "${redact(spec)}" ${why} — use one of ${ACCEPTED_FORMS}`,
    { subject: redact(spec) },
  );
}

/** Error messages must not echo a password that was put in the URL by mistake. */
function redact(spec: string): string {
  return spec.replace(/\/\/[^/@]*:[^/@]*@/, '//***@');
}

/** A DNS name (RFC 1123 labels) or an IPv4 address; IPv6 is handled by the caller. */
function isHostName(value: string): boolean {
  if (isIP(value) === 4) return true;
  return (
    value.length <= 253 &&
    value.split('.').every((label) => /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/.test(label))
  );
}

function parsePort(spec: string, text: string): number {
  if (!/^\d{1,5}$/.test(text)) throw bad(spec, `has port "${text}", which is not a number`);
  const port = Number(text);
  if (port < 1 || port > 65535) throw bad(spec, `has port ${port}, outside 1–65535`);
  return port;
}

function parseDicom(spec: string): Destination {
  const rest = spec.slice('dicom://'.length).replace(/\/$/, '');
  // The host part cannot contain '@', so the last one separates it from the AE title.
  const at = rest.lastIndexOf('@');
  if (at < 0) throw bad(spec, 'has no AE title (the part before @)');
  const aeTitle = rest.slice(0, at);
  const hostPort = rest.slice(at + 1);
  if (!isAeTitle(aeTitle)) {
    throw bad(spec, `has AE title "${aeTitle}", which breaks the rule: ${AE_TITLE_RULE}`);
  }
  let host: string;
  let portText: string;
  const ipv6 = /^\[([^\]]+)\]:(.*)$/.exec(hostPort);
  if (ipv6 !== null) {
    host = ipv6[1]!;
    portText = ipv6[2]!;
    if (isIP(host) !== 6)
      throw bad(spec, `has "${host}" in brackets, which is not an IPv6 address`);
  } else {
    const colon = hostPort.lastIndexOf(':');
    if (colon < 0) throw bad(spec, 'has no port (dicom://AET@host:port)');
    host = hostPort.slice(0, colon);
    portText = hostPort.slice(colon + 1);
    if (host === '') throw bad(spec, 'has no host');
    if (!isHostName(host))
      throw bad(spec, `has host "${host}", which is not a host name or IP address`);
  }
  return { kind: 'dicom', aeTitle, host, port: parsePort(spec, portText) };
}

function parseHttp(spec: string, kind: 'dicomweb' | 'fhir'): Destination {
  const inner = spec.slice(kind.length + 1);
  let url: URL;
  try {
    url = new URL(inner);
  } catch {
    throw bad(spec, 'is not a valid URL');
  }
  if (url.username !== '' || url.password !== '') {
    throw bad(
      spec,
      'has credentials in the URL; they would end up in logs and keys and are not supported',
    );
  }
  if (url.search !== '' || url.hash !== '') throw bad(spec, 'has a query or fragment');
  if (url.hostname === '') throw bad(spec, 'has no host');
  // The base URL is used as a prefix (`${baseUrl}/studies`), so it never ends with a slash.
  const baseUrl = `${url.protocol}//${url.host}${url.pathname}`.replace(/\/+$/, '');
  return { kind, baseUrl };
}

function parseFolder(spec: string): Destination {
  let path: string;
  try {
    path = fileURLToPath(spec);
  } catch (cause) {
    throw bad(spec, `is not a local file URL (${(cause as Error).message})`);
  }
  if (!spec.startsWith('file:///') && !spec.startsWith('file://localhost/')) {
    throw bad(spec, 'is not an absolute file URL (it needs three slashes: file:///path)');
  }
  if (!isAbsolute(path)) throw bad(spec, 'is not an absolute path');
  const normalized = normalize(path).replace(/(.)\/+$/, '$1');
  return { kind: 'folder', path: normalized };
}

/**
 * Parses a destination string. Throws RadiolensError E_BAD_INPUT naming what is wrong and
 * the accepted forms.
 */
export function parseDestination(spec: string): Destination {
  const trimmed = spec.trim();
  const scheme = /^([A-Za-z][A-Za-z0-9+.-]*):/.exec(trimmed)?.[1]?.toLowerCase();
  switch (scheme) {
    case 'dicom':
      if (!trimmed.slice(0, 8).toLowerCase().startsWith('dicom://')) {
        throw bad(spec, 'is not of the form dicom://AET@host:port');
      }
      return parseDicom(`dicom://${trimmed.slice(8)}`);
    case 'dicomweb+http':
    case 'dicomweb+https':
      return parseHttp(trimmed, 'dicomweb');
    case 'fhir+http':
    case 'fhir+https':
      return parseHttp(trimmed, 'fhir');
    case 'file':
      return parseFolder(trimmed);
    case undefined:
      throw bad(spec, 'has no scheme');
    default:
      throw bad(spec, `has an unknown scheme "${scheme}:"`);
  }
}

/** The canonical string of a destination: parseDestination(destinationLabel(d)) equals d. */
export function destinationLabel(d: Destination): string {
  switch (d.kind) {
    case 'dicom':
      return `dicom://${d.aeTitle}@${isIP(d.host) === 6 ? `[${d.host}]` : d.host}:${d.port}`;
    case 'dicomweb':
      return `dicomweb+${d.baseUrl}`;
    case 'fhir':
      return `fhir+${d.baseUrl}`;
    case 'folder':
      return pathToFileURL(d.path).href;
  }
}

/** Which payloads a destination can take: DICOM objects go to DICOM places, bundles to FHIR. */
export function accepts(d: Destination, p: DeliveryPayload): boolean {
  if (d.kind === 'folder') return true;
  if (p.kind === 'dicom') return d.kind === 'dicom' || d.kind === 'dicomweb';
  return d.kind === 'fhir';
}
