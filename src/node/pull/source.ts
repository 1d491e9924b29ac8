/**
 * Where a study is pulled from, parsed once at the edge from the same URL forms `serve
 * --send-to` uses: `dicom://AET@host:port` (DIMSE C-FIND + C-GET) and
 * `dicomweb+http(s)://host:port/path` (QIDO-RS + WADO-RS).
 */
import { RadiolensError } from '../../foundation/core/index.js';
import { assertAeTitle } from '../../foundation/dimse/index.js';

export interface DicomPeer {
  readonly aeTitle: string;
  readonly host: string;
  readonly port: number;
}

export type PullSource =
  | ({ readonly kind: 'dicom' } & DicomPeer)
  | { readonly kind: 'dicomweb'; readonly baseUrl: string };

const ACCEPTED_FORMS =
  'accepted forms: dicom://AET@host:port (C-FIND + C-GET) or dicomweb+http://host:port/dicom-web ' +
  '(QIDO-RS + WADO-RS; dicomweb+https for TLS)';

function badSource(spec: string, why: string): RadiolensError {
  return new RadiolensError('E_BAD_INPUT', `--from "${spec}": ${why}; ${ACCEPTED_FORMS}`);
}

export function parsePullSource(spec: string): PullSource {
  let url: URL;
  try {
    url = new URL(spec);
  } catch {
    throw badSource(spec, 'not a URL');
  }
  if (url.protocol === 'dicom:') {
    const aeTitle = decodeURIComponent(url.username);
    if (aeTitle === '') throw badSource(spec, 'the called AE title is missing before "@"');
    if (url.password !== '') throw badSource(spec, 'a DICOM peer takes no password');
    try {
      assertAeTitle(aeTitle, 'called AE title');
    } catch (error) {
      throw badSource(spec, (error as Error).message);
    }
    const port = Number(url.port);
    if (url.port === '' || !Number.isInteger(port) || port < 1 || port > 65535) {
      throw badSource(spec, 'the port is missing or not 1–65535');
    }
    if (url.hostname === '') throw badSource(spec, 'the host is missing');
    if ((url.pathname !== '' && url.pathname !== '/') || url.search !== '' || url.hash !== '') {
      throw badSource(spec, 'a DICOM peer URL has no path or query');
    }
    return { kind: 'dicom', aeTitle, host: stripBrackets(url.hostname), port };
  }
  if (url.protocol === 'dicomweb+http:' || url.protocol === 'dicomweb+https:') {
    if (url.username !== '' || url.password !== '') {
      throw badSource(spec, 'credentials in the URL are not supported');
    }
    if (url.search !== '' || url.hash !== '') throw badSource(spec, 'no query or fragment allowed');
    const scheme = url.protocol === 'dicomweb+https:' ? 'https' : 'http';
    const path = url.pathname.replace(/\/+$/, '');
    return { kind: 'dicomweb', baseUrl: `${scheme}://${url.host}${path}` };
  }
  throw badSource(spec, `the scheme "${url.protocol.replace(/:$/, '')}" cannot be pulled from`);
}

/** Canonical string for messages: the same form the user typed, never credentials. */
export function pullSourceLabel(source: PullSource): string {
  if (source.kind === 'dicom') {
    const host = source.host.includes(':') ? `[${source.host}]` : source.host;
    return `dicom://${source.aeTitle}@${host}:${source.port}`;
  }
  return `dicomweb+${source.baseUrl}`;
}

function stripBrackets(host: string): string {
  return host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
}
