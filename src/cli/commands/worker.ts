import type { Command } from 'commander';
import {
  RadiolensWorker,
  createLogger,
  loadWorkerConfig,
  scrub,
  type WorkerFlags,
} from '../../node/service/index.js';
import { redactUrl } from '../../node/postgres/index.js';
import { sharedStoreLabel } from '../../node/sharedStore/index.js';
import { RADIOLENS_VERSION, describeError, isRadiolensError } from '../../foundation/core/index.js';
import { modelRegistryLocation } from '../modelRegistryLocation.js';
import type { CommandModule } from './index.js';
import { collect, toNumber } from '../optionParsers.js';

interface WorkerOptions {
  database?: string;
  nodeId?: string;
  data?: string;
  registry?: string;
  workers?: number;
  threads?: number;
  sendTo?: string[];
  deliver?: boolean;
  httpHost?: string;
  httpPort?: number;
  lease?: number;
  nodeLease?: number;
  grace?: number;
  patientIdSystem?: string;
  sharedStore?: string;
  results?: string;
}

export const workerCommand: CommandModule = (program: Command) => {
  program
    .command('worker')
    .description(
      'Run an analysis worker of a cluster (docs/scale-out.md): take analysis jobs from the ' +
        "shared PostgreSQL queue that 'radiolens serve --database' fills, analyse each study " +
        'from the shared data folder or the shared DICOM store, put the SR, SC and FHIR results into the shared outbox ' +
        'for every --send-to destination, and send what the outbox holds. Any number of ' +
        'workers on any host; each holds a node lease, and a job whose worker dies runs again ' +
        'on another once the lease runs out; each result is delivered once. Logs are JSON ' +
        'lines on stderr, without patient data.',
    )
    .option(
      '--database <postgresql-url>',
      'the shared PostgreSQL database (prefer $RADIOLENS_DATABASE_URL or ~/.pgpass for the ' +
        'password: a flag shows in ps)',
    )
    .option(
      '--data <dir>',
      'data folder: results are written to <dir>/results/<job id> (required); shared with ' +
        'every sender and ingest node with --results folder, private to this worker with ' +
        '--results database',
    )
    .option(
      '--results <where>',
      'where job results go: folder (the --data folder, mounted at the same path on every ' +
        'host) or database (the shared database, committed with the job; default with ' +
        '--shared-store, else folder)',
    )
    .option(
      '--node-id <id>',
      "this process's name in the cluster, unique per process (default worker@<hostname>)",
    )
    .option('--workers <n>', 'jobs this process runs at once (default 1)', toNumber)
    .option(
      '--threads <n>',
      'onnxruntime threads per model run (default: every core of this host)',
      toNumber,
    )
    .option(
      '--send-to <url>',
      'where results go; repeatable: dicom://AET@host:port, dicomweb+http(s)://host:port/path, ' +
        'fhir+http(s)://host:port/path, file:///absolute/folder',
      collect,
    )
    .option('--no-deliver', 'only analyse; other processes send what the outbox holds')
    .option('--http-host <ip>', 'address /health listens on (default 127.0.0.1)')
    .option('--http-port <port>', 'port of /health (default 8081; 0 picks a free one)', toNumber)
    .option('--lease <seconds>', 'job lease, renewed every third of it (default 30)', toNumber)
    .option(
      '--node-lease <seconds>',
      "node lease: after this long without a beat the node's work goes to others (default 30)",
      toNumber,
    )
    .option(
      '--grace <seconds>',
      'on SIGTERM, how long a running job may finish before it is given back (default 30)',
      toNumber,
    )
    .option('--patient-id-system <uri>', 'FHIR Patient.identifier system (docs/adr/0152)')
    .option(
      '--shared-store <dicomweb-url>',
      'where this worker reads studies that jobs name in the shared DICOM store: any Orthanc ' +
        "on the store's PostgreSQL database, e.g. dicomweb+http://orthanc-b:8042/dicom-web; " +
        'credentials as user:password@, better in $RADIOLENS_SHARED_STORE_URL (default: the ' +
        'store the job names, without credentials)',
    )
    .option(
      '--registry <dir>',
      'model registry folder (default: $RADIOLENS_MODELS or the shipped models/)',
    )
    .addHelpText(
      'after',
      '\nThe study files are read at the paths the ingesting node stored them: mount the ' +
        'shared data folder at the same path on every host (docs/adr/0183); a study the ' +
        'ingesting node put into the shared store (serve --shared-store) is read by WADO-RS ' +
        'into a private temporary folder ($TMPDIR), removed after the job; the store ' +
        'unreachable, the job runs again later without using up an attempt; a study missing ' +
        'from it fails the job at once (docs/adr/0187); no room for it in $TMPDIR, the job runs ' +
        'again later without using up an attempt (E_DISK_FULL, /health degraded).\n' +
        "With --results database (the default with --shared-store) a job's result files — SR, " +
        'SC, Parametric Map, FHIR bundle, heatmap PNGs, analysis.json — are committed to the ' +
        'database with the job, the outbox entries name them there, any process sends them from ' +
        'there, the ingest node of the study copies them into its own data folder, and retention ' +
        "removes them once that node has read the job and every entry is delivered; the job's " +
        'folder under --data is removed once they are committed, so --data needs no shared ' +
        'mount (docs/adr/0193).\n' +
        'GET /health answers 200 (ok, degraded: the database or the shared store unreachable, a ' +
        'job running over an hour) or 503 (the node lease was lost); it names ' +
        'the database without its password.\n' +
        'SIGTERM or SIGINT drains: no new claims, a running job finishes within --grace or ' +
        'is given back to the queue, sends in flight finish, the lease is released; exit ' +
        'status 0. Exit status 2 when the flags are invalid or the cluster cannot be joined (the ' +
        'database unreachable, the node id held by a live process), 75 when the node lease was lost ' +
        '(restart it), 70 after an internal error.',
    )
    .action(async (opts: WorkerOptions) => {
      const flags: WorkerFlags = {
        ...(opts.database !== undefined ? { database: opts.database } : {}),
        ...(opts.nodeId !== undefined ? { nodeId: opts.nodeId } : {}),
        ...(opts.data !== undefined ? { data: opts.data } : {}),
        ...(opts.registry !== undefined ? { modelsDir: opts.registry } : {}),
        ...(opts.workers !== undefined ? { workers: opts.workers } : {}),
        ...(opts.threads !== undefined ? { threads: opts.threads } : {}),
        ...(opts.sendTo !== undefined ? { sendTo: opts.sendTo } : {}),
        ...(opts.deliver === false ? { deliver: false } : {}),
        ...(opts.httpHost !== undefined ? { httpHost: opts.httpHost } : {}),
        ...(opts.httpPort !== undefined ? { httpPort: opts.httpPort } : {}),
        ...(opts.lease !== undefined ? { leaseSeconds: opts.lease } : {}),
        ...(opts.nodeLease !== undefined ? { nodeLeaseSeconds: opts.nodeLease } : {}),
        ...(opts.grace !== undefined ? { graceSeconds: opts.grace } : {}),
        ...(opts.patientIdSystem !== undefined ? { patientIdSystem: opts.patientIdSystem } : {}),
        ...(opts.sharedStore !== undefined ? { sharedStore: opts.sharedStore } : {}),
        ...(opts.results !== undefined ? { results: opts.results } : {}),
      };
      const config = loadWorkerConfig(flags, modelRegistryLocation());
      const logger = createLogger();
      const crash = (kind: string) => (error: unknown) => {
        logger.error('worker-crashed', {
          kind,
          code: isRadiolensError(error) ? error.code : 'E_UNEXPECTED',
          error: scrub(describeError(error)),
        });
        process.exit(70); // EX_SOFTWARE
      };
      process.on('uncaughtException', crash('uncaught-exception'));
      process.on('unhandledRejection', crash('unhandled-rejection'));
      const worker = await RadiolensWorker.start(config, {
        logger,
        version: RADIOLENS_VERSION,
        // EX_TEMPFAIL: the supervisor restarts it under a fresh lease.
        onLeaseLost: () => process.exit(75),
      });
      process.stdout.write(
        `radiolens worker running\n` +
          `  node    ${config.cluster.nodeId} on ${redactUrl(config.cluster.databaseUrl)}\n` +
          `  health  http://${config.httpHost}:${worker.httpPort}/health\n` +
          `  jobs    ${config.workers} at a time\n` +
          `  data    ${config.dataDir}${config.results === 'database' ? ' (private; results in the database)' : ''}\n` +
          (config.sharedStore === null
            ? ''
            : `  store   ${sharedStoreLabel(config.sharedStore)}\n`) +
          `  results ${config.destinations.map((d) => d.spec).join(', ') || '(kept in the data folder only)'}${config.deliver ? '' : ' (sent by other processes)'}\n`,
      );
      await new Promise<void>((resolve) => {
        let stopping = false;
        const onSignal = (signal: NodeJS.Signals): void => {
          if (stopping) {
            logger.warn('worker-forced-exit', { signal });
            process.exit(1);
          }
          stopping = true;
          logger.info('signal', { signal });
          worker.stop().then(resolve, (error: unknown) => {
            logger.error('worker-stop-failed', { error: scrub(describeError(error)) });
            process.exitCode = 1;
            resolve();
          });
        };
        process.on('SIGTERM', onSignal);
        process.on('SIGINT', onSignal);
      });
      process.exit(process.exitCode ?? 0);
    });
};
