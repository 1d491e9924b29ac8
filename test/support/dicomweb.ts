/**
 * A node HTTP listener with the DICOMweb read routes over a temporary store filled with
 * conformance files, and the requests a viewer (OHIF's dicomweb-client) sends. Test support.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseMultipartRelated } from '../../src/foundation/dicomweb/index.js';
import { createDicomWebReadRoutes, type DicomWebAccess } from '../../src/node/dicomweb/index.js';
import { createLogger } from '../../src/node/service/log.js';
import { DICOMWEB_ROOT, NodeHttpServer } from '../../src/node/service/http.js';
import { sha256OfToken } from '../../src/node/service/httpAccess.js';
import { InstanceStore } from '../../src/node/store/index.js';
import { conformanceDir } from './paths.js';

/** Files with distinct SOP Instance UIDs: native, RLE, JPEG lossless, J2K, multi-frame, 1-bit. */
export const DICOMWEB_CORPUS = [
  'pydicom-data/SC_rgb_2frame.dcm',
  'pydicom-data/JPEG-LL.dcm',
  'pydicom-data/MR-SIEMENS-DICOM-WithOverlays.dcm',
  'pydicom-data/OBXXXX1A_rle_2frame.dcm',
  'pydicom-data/693_J2KR.dcm',
  'pydicom-data/emri_small.dcm',
  'pydicom-data/liver.dcm',
  'cornerstone3D/CTImage.dcm',
] as const;

/**
 * The reads are for radiologists and machine clients with the token (ADR 0174); these tests
 * read as a machine client.
 */
const READER_TOKEN = 'dicomweb-conformance-reader-token';
const AUTHORIZATION = { authorization: `Bearer ${READER_TOKEN}` };

/** The Accept header OHIF's image loader sends for frames. */
export const OHIF_FRAMES_ACCEPT =
  'multipart/related; type="application/octet-stream"; transfer-syntax=*';

export interface DicomWebFixture {
  readonly base: string;
  readonly store: InstanceStore;
  readonly accesses: DicomWebAccess[];
  readonly files: ReadonlyMap<string, Uint8Array>;
}

export async function withDicomWebNode(
  files: readonly string[],
  run: (fixture: DicomWebFixture) => Promise<void>,
): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'radiolens-dicomweb-'));
  const store = InstanceStore.open(dir);
  const accesses: DicomWebAccess[] = [];
  const bytes = new Map<string, Uint8Array>();
  for (const file of files) {
    const data = await readFile(join(conformanceDir, file));
    bytes.set(file, data);
    await store.storeInstance(data, { source: file });
  }
  const server = await NodeHttpServer.start({
    host: '127.0.0.1',
    port: 0,
    access: { allowAddresses: [], tokenSha256: sha256OfToken(READER_TOKEN) },
    health: () => ({ status: 'ok' }),
    logger: createLogger(() => undefined),
    dicomWebRead: createDicomWebReadRoutes(store, {
      root: DICOMWEB_ROOT,
      onAccess: (access) => accesses.push(access),
    }),
  });
  try {
    await run({
      base: `http://127.0.0.1:${server.port}${DICOMWEB_ROOT}`,
      store,
      accesses,
      files: bytes,
    });
  } finally {
    await server.stop(1000);
    store.close();
    await rm(dir, { recursive: true, force: true });
  }
}

export interface MultipartResponse {
  readonly status: number;
  readonly contentType: string;
  readonly parts: { headers: Record<string, string>; body: Uint8Array }[];
}

export async function getMultipart(url: string, accept: string): Promise<MultipartResponse> {
  const response = await fetch(url, { headers: { accept, ...AUTHORIZATION } });
  const contentType = response.headers.get('content-type') ?? '';
  const body = new Uint8Array(await response.arrayBuffer());
  if (response.status !== 200) return { status: response.status, contentType, parts: [] };
  return { status: 200, contentType, parts: parseMultipartRelated(body, contentType) };
}

export async function getJson<T = unknown>(
  url: string,
  accept = 'application/dicom+json',
): Promise<{ status: number; body: T; headers: Headers }> {
  const response = await fetch(url, { headers: { accept, ...AUTHORIZATION } });
  return { status: response.status, body: (await response.json()) as T, headers: response.headers };
}
