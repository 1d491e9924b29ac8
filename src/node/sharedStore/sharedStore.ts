/**
 * The shared DICOM store of a cluster (issue #17, ADR 0187): a DICOMweb server — Orthanc with
 * its DICOMweb plugin and its PostgreSQL index and storage plugins — that every ingest node
 * writes a stable study to (STOW-RS) and every worker reads it from (WADO-RS), instead of a
 * folder mounted at the same path on every host (ADR 0183).
 *
 * Named by its DICOMweb root, `dicomweb+http(s)://[user:password@]host:port/dicom-web` (or
 * plain http(s)://). Credentials are split off at once: the URL without them is what jobs,
 * logs and /health carry; the `Authorization` header is only ever put on a request.
 */
import { RadiolensError } from '../../foundation/core/index.js';

/**
 * Environment variable with the store's URL: a password in a flag shows in `ps`, one in an
 * EnvironmentFile does not (as `$RADIOLENS_DATABASE_URL`, ADR 0183).
 */
export const SHARED_STORE_URL_ENV = 'RADIOLENS_SHARED_STORE_URL';

export interface SharedStore {
  /** The DICOMweb root without credentials (http(s)://host:port/path): safe to log and store. */
  readonly baseUrl: string;
  /** `Basic …` when the URL carried a user; never logged, never in a job. */
  readonly authorization: string | null;
}

const FORMS =
  'write it as dicomweb+http://[user:password@]host:8042/dicom-web (the DICOMweb root; dicomweb+https for TLS)';

export function parseSharedStore(spec: string): SharedStore {
  let url: URL;
  try {
    url = new URL(spec.trim());
  } catch {
    // The spec may hold a password: never echo it.
    throw new RadiolensError('E_BAD_INPUT', `the shared store is not a URL — ${FORMS}`);
  }
  const scheme = url.protocol.replace(/^dicomweb\+/, '').replace(/:$/, '');
  if (scheme !== 'http' && scheme !== 'https') {
    throw new RadiolensError(
      'E_BAD_INPUT',
      `the shared store's scheme "${url.protocol.replace(/:$/, '')}" is not DICOMweb over HTTP — ${FORMS}`,
    );
  }
  if (url.hostname === '')
    throw new RadiolensError('E_BAD_INPUT', `the shared store names no host — ${FORMS}`);
  if (url.search !== '' || url.hash !== '') {
    throw new RadiolensError(
      'E_BAD_INPUT',
      `the shared store's URL takes no query or fragment — ${FORMS}`,
    );
  }
  const user = decodeURIComponent(url.username);
  const password = decodeURIComponent(url.password);
  const path = url.pathname.replace(/\/+$/, '');
  return {
    baseUrl: `${scheme}://${url.host}${path}`,
    authorization:
      user === '' && password === ''
        ? null
        : `Basic ${Buffer.from(`${user}:${password}`, 'utf8').toString('base64')}`,
  };
}

/** The headers every request to the store carries (its credentials, when it has any). */
export function sharedStoreHeaders(store: SharedStore): Record<string, string> {
  return store.authorization === null ? {} : { authorization: store.authorization };
}

/** The store as a log and /health show it: the DICOMweb root, never the credentials. */
export function sharedStoreLabel(store: SharedStore): string {
  return `dicomweb+${store.baseUrl}${store.authorization === null ? '' : ' (basic auth)'}`;
}

/**
 * What a job's payload says about where its study is (ADR 0187): the store's DICOMweb root as
 * the ingest node wrote to it (no credentials) and the instances it stored, so that a worker
 * analyses exactly those — not results sent back into the same study, nor instances that
 * arrived after the study was declared stable.
 */
export interface SharedStudySource {
  readonly kind: 'dicomweb';
  readonly url: string;
  readonly sopInstanceUids: readonly string[];
}

/** The source a job's payload names for instances the ingest node stored in `store`. */
export function sharedSourceFor(
  store: SharedStore,
  sopInstanceUids: readonly string[],
): SharedStudySource {
  return { kind: 'dicomweb', url: store.baseUrl, sopInstanceUids };
}

/** The payload's source, or undefined when the job names none (it carries files instead). */
export function sharedSourceOf(
  payload: Readonly<Record<string, unknown>>,
): SharedStudySource | undefined {
  const source = payload['source'];
  if (typeof source !== 'object' || source === null) return undefined;
  const { kind, url, sopInstanceUids } = source as Record<string, unknown>;
  if (kind !== 'dicomweb' || typeof url !== 'string') return undefined;
  if (!Array.isArray(sopInstanceUids) || !sopInstanceUids.every((u) => typeof u === 'string')) {
    return undefined;
  }
  return { kind, url, sopInstanceUids: sopInstanceUids as string[] };
}
