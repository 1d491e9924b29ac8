/**
 * The node's DICOMweb read routes (QIDO-RS and WADO-RS, ADR 0170) behind one function, so
 * that the HTTP listener registers them in one place and whatever guards PHI reads
 * (authentication, audit) wraps exactly this. Paths are relative to the DICOMweb root.
 */
import { stat } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { join } from 'node:path';
import { isRadiolensError } from '../../foundation/core/index.js';
import { keywordEntry } from '../../foundation/dicom/index.js';
import type { InstanceStore } from '../store/index.js';
import { acceptsDicomJson, parseAccept } from './accept.js';
import {
  DicomWebIndex,
  JOINED_COLUMNS,
  LATEST_VERSION,
  toIndexedInstance,
  type IndexedInstance,
  type JoinedInstanceRow,
} from './metadataIndex.js';
import { DicomWebProblem } from './problem.js';
import { searchQido, type QidoScope } from './qido.js';
import { parseQidoQuery, type QueryLevel } from './qidoQuery.js';
import {
  parseFrameList,
  retrieveBulkData,
  retrieveFrames,
  retrieveInstances,
  retrieveMetadata,
} from './wado.js';

/** What a read route is about, for an audit record or a log line (UIDs, never names). */
export interface DicomWebAccess {
  readonly kind: 'search' | 'retrieve' | 'metadata' | 'frames' | 'bulkdata';
  readonly level: QueryLevel;
  readonly studyInstanceUid?: string;
  readonly status: number;
}

export interface DicomWebReadOptions {
  /** The DICOMweb root path the routes are mounted at, e.g. /dicomweb. */
  readonly root: string;
  /** Called once per answered request (after the status is known). */
  readonly onAccess?: (access: DicomWebAccess) => void;
  /** Called when a stored file cannot be read into the index. */
  readonly onIndexProblem?: (sopInstanceUid: string, problem: string) => void;
}

export interface DicomWebReadRoutes {
  /**
   * Answers `path` (below the root) when it is a QIDO-RS or WADO-RS GET/HEAD; returns false,
   * having written nothing, for any other path or method (STOW-RS is POST).
   */
  handle(
    req: IncomingMessage,
    res: ServerResponse,
    path: string,
    search: URLSearchParams,
  ): Promise<boolean>;
}

type Route =
  | { kind: 'search'; level: QueryLevel; scope: QidoScope }
  | {
      kind: 'retrieve' | 'metadata';
      level: QueryLevel;
      scope: Required<QidoScope> | { studyInstanceUid: string };
      sop?: string;
    }
  | {
      kind: 'frames';
      level: 'instance';
      study: string;
      series: string;
      sop: string;
      frames: string;
    }
  | {
      kind: 'bulkdata';
      level: 'instance';
      study: string;
      series: string;
      sop: string;
      path: string[];
    };

const UID = /^[0-9]+(\.[0-9]+)*$/;

/** Matches a path below the DICOMweb root; undefined when it is not a read route. */
export function matchReadRoute(path: string): Route | undefined {
  const s = path.split('/').slice(1);
  if (s.some((segment) => segment === '')) return undefined;
  const [a, st, b, se, c, sop, d, ...rest] = s;
  if (s.length === 1) {
    if (a === 'studies') return { kind: 'search', level: 'study', scope: {} };
    if (a === 'series') return { kind: 'search', level: 'series', scope: {} };
    if (a === 'instances') return { kind: 'search', level: 'instance', scope: {} };
    return undefined;
  }
  if (a !== 'studies' || st === undefined || !UID.test(st)) return undefined;
  if (s.length === 2) return { kind: 'retrieve', level: 'study', scope: { studyInstanceUid: st } };
  if (s.length === 3) {
    if (b === 'metadata')
      return { kind: 'metadata', level: 'study', scope: { studyInstanceUid: st } };
    if (b === 'series') return { kind: 'search', level: 'series', scope: { studyInstanceUid: st } };
    if (b === 'instances')
      return { kind: 'search', level: 'instance', scope: { studyInstanceUid: st } };
    return undefined;
  }
  if (b !== 'series' || se === undefined || !UID.test(se)) return undefined;
  const series = { studyInstanceUid: st, seriesInstanceUid: se };
  if (s.length === 4) return { kind: 'retrieve', level: 'series', scope: series };
  if (s.length === 5) {
    if (c === 'metadata') return { kind: 'metadata', level: 'series', scope: series };
    if (c === 'instances') return { kind: 'search', level: 'instance', scope: series };
    return undefined;
  }
  if (c !== 'instances' || sop === undefined || !UID.test(sop)) return undefined;
  if (s.length === 6) return { kind: 'retrieve', level: 'instance', scope: series, sop };
  if (s.length === 7 && d === 'metadata')
    return { kind: 'metadata', level: 'instance', scope: series, sop };
  if (s.length === 8 && d === 'frames')
    return { kind: 'frames', level: 'instance', study: st, series: se, sop, frames: rest[0]! };
  if (
    d === 'bulk' &&
    rest.length % 2 === 1 &&
    rest.every((p, i) => (i % 2 === 0 ? /^[0-9A-Fa-f]{8}$/ : /^\d{1,6}$/).test(p))
  ) {
    return { kind: 'bulkdata', level: 'instance', study: st, series: se, sop, path: rest };
  }
  return undefined;
}

function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': status < 300 ? 'application/dicom+json' : 'application/json',
    'content-length': Buffer.byteLength(text),
    'cache-control': 'no-store',
    ...headers,
  });
  res.end(text);
}

/** The absolute DICOMweb root as the client reached it (for RetrieveURL and BulkDataURI). */
function publicRoot(req: IncomingMessage, root: string): string {
  const encrypted = (req.socket as { encrypted?: boolean }).encrypted === true;
  const host =
    req.headers.host ?? `${req.socket.localAddress ?? 'localhost'}:${req.socket.localPort ?? ''}`;
  return `${encrypted ? 'https' : 'http'}://${host}${root}`;
}

export function createDicomWebReadRoutes(
  store: InstanceStore,
  options: DicomWebReadOptions,
): DicomWebReadRoutes {
  const index = new DicomWebIndex(store, options.onIndexProblem);
  const db = store.db;
  const select = `SELECT ${JOINED_COLUMNS} FROM instances i JOIN dicomweb_instances d ON d.instance_id = i.id WHERE ${LATEST_VERSION}`;
  const inStudy = db.prepare(
    `${select} AND i.study_instance_uid = ? ORDER BY i.series_instance_uid, i.id`,
  );
  const inSeries = db.prepare(
    `${select} AND i.study_instance_uid = ? AND i.series_instance_uid = ? ORDER BY i.id`,
  );
  const one = db.prepare(
    `${select} AND i.study_instance_uid = ? AND i.series_instance_uid = ? AND i.sop_instance_uid = ?`,
  );
  const resolveTag = (keyword: string): string | undefined => keywordEntry(keyword)?.tag;
  const sizeOf = async (instance: IndexedInstance): Promise<number> =>
    (await stat(join(store.dataDir, instance.path))).size;

  function instancesOf(route: Route): IndexedInstance[] {
    let rows: JoinedInstanceRow[];
    if (route.kind === 'frames' || route.kind === 'bulkdata') {
      rows = one.all(route.study, route.series, route.sop) as JoinedInstanceRow[];
    } else if (route.kind === 'search') {
      return [];
    } else if ('seriesInstanceUid' in route.scope) {
      rows =
        route.sop !== undefined
          ? (one.all(
              route.scope.studyInstanceUid,
              route.scope.seriesInstanceUid,
              route.sop,
            ) as JoinedInstanceRow[])
          : (inSeries.all(
              route.scope.studyInstanceUid,
              route.scope.seriesInstanceUid,
            ) as JoinedInstanceRow[]);
    } else {
      rows = inStudy.all(route.scope.studyInstanceUid) as JoinedInstanceRow[];
    }
    if (rows.length === 0) {
      throw new DicomWebProblem(404, `the node holds no such ${route.level}`);
    }
    return rows.map(toIndexedInstance);
  }

  async function answer(
    req: IncomingMessage,
    res: ServerResponse,
    route: Route,
    search: URLSearchParams,
  ): Promise<void> {
    const accept = parseAccept(req.headers.accept);
    const root = publicRoot(req, options.root);
    await index.refresh();
    if (route.kind === 'search') {
      acceptsDicomJson(accept);
      const query = parseQidoQuery(route.level, search, resolveTag);
      const results = searchQido(index, query, route.scope, root);
      const warning: Record<string, string> = query.fuzzyRequested
        ? {
            warning:
              '299 radiolens: The fuzzymatching parameter is not supported. Only literal matching has been performed.',
          }
        : {};
      sendJson(res, 200, results, warning);
      return;
    }
    const instances = instancesOf(route);
    if (route.kind === 'metadata') {
      acceptsDicomJson(accept);
      await retrieveMetadata(res, root, instances);
    } else if (route.kind === 'retrieve') {
      await retrieveInstances(res, store.dataDir, instances, accept, sizeOf);
    } else {
      const instance = instances[0]!;
      const record = store.findInstanceById(instance.id)!;
      const bytes = await store.readInstanceBytes(record);
      if (route.kind === 'frames') {
        await retrieveFrames(res, instance, bytes, parseFrameList(route.frames), accept);
      } else if (route.kind === 'bulkdata') {
        await retrieveBulkData(res, instance, bytes, route.path, accept);
      }
    }
  }

  return {
    async handle(req, res, path, search) {
      if (req.method !== 'GET' && req.method !== 'HEAD') return false;
      const route = matchReadRoute(path);
      if (route === undefined) return false;
      try {
        await answer(req, res, route, search);
      } catch (error) {
        if (res.headersSent) throw error;
        let status: number;
        if (error instanceof DicomWebProblem) status = error.status;
        else if (isRadiolensError(error) && error.code === 'E_BAD_INPUT') status = 400;
        else throw error;
        sendJson(res, status, { error: error.message });
      } finally {
        const study =
          route.kind === 'frames' || route.kind === 'bulkdata'
            ? route.study
            : route.scope.studyInstanceUid;
        options.onAccess?.({
          kind: route.kind,
          level: route.level,
          ...(study === undefined ? {} : { studyInstanceUid: study }),
          status: res.headersSent ? res.statusCode : 500,
        });
      }
      return true;
    },
  };
}
