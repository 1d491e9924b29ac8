/**
 * Test support: processes of one cluster on a test database — `radiolens serve --database …
 * --workers 0` ingest nodes and `radiolens worker` processes on loopback, with short leases so
 * that tests are quick — and a way to put a study into an ingest node's watched folder.
 * (service/cluster.int.test.ts keeps its own harness: its workers run inside network
 * namespaces and reach the database by their own URLs.)
 */
import { copyFile, mkdir, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { freeLoopbackPort } from './orthanc.js';
import { ServeProcess, type ChestStudy } from './node.js';

export interface ClusterProcesses {
  /**
   * An ingest node with its data folder `<work>/<name>` (which may already hold users); `args`
   * come after the defaults, so that they override them (`--quiet-period 4`).
   */
  startIngest(
    name: string,
    env?: Record<string, string>,
    args?: readonly string[],
  ): Promise<ServeProcess>;
  /**
   * A worker process writing results under `<work>/shared`, or under `options.data`, with
   * `options.args` added to its flags.
   */
  startWorker(
    name: string,
    env?: Record<string, string>,
    options?: { readonly data?: string; readonly args?: readonly string[] },
  ): Promise<ServeProcess>;
  /** Every process started, to stop or kill. */
  readonly started: Set<ServeProcess>;
}

export async function clusterProcesses(
  work: string,
  url: string,
  options: { readonly sendTo?: string; readonly serveConfig?: Record<string, unknown> } = {},
): Promise<ClusterProcesses> {
  const serveConfig = join(work, 'serve.json');
  await writeFile(
    serveConfig,
    JSON.stringify({
      leaseSeconds: 4,
      nodeLeaseSeconds: 3,
      delivery: { retryFirstSeconds: 1, retryMaxSeconds: 2 },
      ...options.serveConfig,
    }),
  );
  const sendTo = options.sendTo === undefined ? [] : ['--send-to', options.sendTo];
  const started = new Set<ServeProcess>();
  return {
    started,
    startIngest: async (name, env = {}, args = []) => {
      const serve = await ServeProcess.start(
        [
          ...['--config', serveConfig, '--database', url, '--node-id', name],
          ...['--data', join(work, name), '--workers', '0', ...sendTo],
          ...['--dicom-port', String(await freeLoopbackPort())],
          ...['--http-port', String(await freeLoopbackPort()), '--host', '127.0.0.1'],
          ...['--quiet-period', '1', '--model', 'cxr-pneumonia'],
          ...args,
        ],
        env,
      );
      started.add(serve);
      return serve;
    },
    startWorker: async (name, env = {}, workerOptions = {}) => {
      const data = workerOptions.data ?? join(work, 'shared');
      const worker = await ServeProcess.start(
        [
          ...['--database', url, '--node-id', name, '--data', data, ...sendTo],
          ...(workerOptions.args ?? []),
          ...['--http-port', String(await freeLoopbackPort())],
          ...['--lease', '4', '--node-lease', '3', '--threads', '1'],
        ],
        env,
        { name: 'worker', ready: 'radiolens worker running' },
      );
      started.add(worker);
      return worker;
    },
  };
}

/** Puts a study into an ingest node's watched folder (written aside, then renamed in). */
export async function dropStudy(
  work: string,
  node: string,
  study: ChestStudy,
  name: string,
): Promise<void> {
  const folder = join(work, node, 'import');
  await mkdir(folder, { recursive: true });
  await copyFile(study.file, join(folder, `${name}.part`));
  await rename(join(folder, `${name}.part`), join(folder, `${name}.dcm`));
}

/** The HTTP port an ingest node printed at start. */
export function httpPortOf(serve: ServeProcess): number {
  const port = /HTTP\s+http:\/\/127\.0\.0\.1:(\d+)/.exec(serve.stdout)?.[1];
  if (port === undefined) throw new Error(`no HTTP port in: ${serve.stdout}`);
  return Number(port);
}

/** The DICOM port an ingest node printed at start (its C-STORE SCP). */
export function dicomPortOf(serve: ServeProcess): number {
  const port = /DICOM\s+\S+ on 127\.0\.0\.1:(\d+)/.exec(serve.stdout)?.[1];
  if (port === undefined) throw new Error(`no DICOM port in: ${serve.stdout}`);
  return Number(port);
}
