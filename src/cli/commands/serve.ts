import type { Command } from 'commander';
import {
  RadiolensNode,
  createLogger,
  loadNodeConfig,
  describeHttpAccess,
  scrub,
  type NodeFlags,
} from '../../node/service/index.js';
import { RADIOLENS_VERSION, describeError, isRadiolensError } from '../../foundation/core/index.js';
import { redactUrl } from '../../node/postgres/index.js';
import { sharedStoreLabel } from '../../node/sharedStore/index.js';
import { nodeDriftCheck } from '../monitoringSources.js';
import { modelRegistryLocation } from '../modelRegistryLocation.js';
import { isOhifApp } from '../../node/viewer/index.js';
import type { CommandModule } from './index.js';
import { collect, toNumber } from '../optionParsers.js';

interface ServeOptions {
  config?: string;
  data?: string;
  aeTitle?: string;
  dicomPort?: number;
  httpPort?: number;
  host?: string;
  // Issue #16: listeners apart and DICOMweb access.
  dicomHost?: string;
  httpHost?: string;
  httpAllow?: string[];
  tlsCert?: string;
  tlsKey?: string;
  allow?: string[];
  model?: string[];
  shadow?: string[];
  sendTo?: string[];
  watch?: string | boolean;
  quietPeriod?: number;
  workers?: number;
  registry?: string;
  maxAssociations?: number;
  dicomIdleTimeout?: number;
  database?: string;
  sharedStore?: string;
  nodeId?: string;
}

export const serveCommand: CommandModule = (program: Command) => {
  program
    .command('serve')
    .description(
      'Run the DICOM node: a C-ECHO/C-STORE SCP, a DICOMweb STOW-RS endpoint and a watched ' +
        'import folder; each study, once no instance has arrived for the quiet period, is ' +
        'routed to its model(s), analysed, and the SR, SC and FHIR results are sent to every ' +
        '--send-to destination (retried until delivered). An instance is acknowledged only ' +
        'once stored durably. The HTTP port also serves DICOMweb QIDO-RS/WADO-RS over the ' +
        "node's store and the reading room's API (/api/login, /api/feedback, /api/audit; every " +
        'route with its roles in /api/openapi.json), behind login and roles. Logs are JSON ' +
        'lines on stderr, without patient data.',
    )
    .option('--config <file>', 'JSON configuration file (flags override its fields)')
    .option(
      '--data <dir>',
      'data directory: database, received objects, results (default ./radiolens-data)',
    )
    .option('--ae-title <aet>', 'our DICOM AE title (default RADIOLENS)')
    .option('--dicom-port <port>', 'DICOM port (default 11112; 0 picks a free one)', toNumber)
    .option(
      '--http-port <port>',
      'HTTP port for /health, DICOMweb (STOW-RS, QIDO-RS, WADO-RS) and /api (default 8080)',
      toNumber,
    )
    .option(
      '--host <ip>',
      'address both listeners use (shorthand for the two below; default 0.0.0.0)',
    )
    // ── Issue #16: listeners apart, DICOMweb access (docs/security.md, ADR 0131)
    .option('--dicom-host <ip>', 'address the DICOM port listens on (default: --host)')
    .option('--http-host <ip>', 'address the HTTP port listens on (default: --host)')
    .option(
      '--http-allow <ip>',
      'client address allowed to send STOW-RS without a token; repeatable (default: the ' +
        'addresses of the --allow list, i.e. this machine); other machine clients need ' +
        '"Authorization: Bearer $RADIOLENS_HTTP_TOKEN", people log in',
      collect,
    )
    .option('--tls-cert <pem>', 'serve HTTPS: certificate (chain) file, PEM; with --tls-key')
    .option('--tls-key <pem>', 'serve HTTPS: private key file, PEM; with --tls-cert')
    .option(
      '--allow <aet[@ip]>',
      'calling AE title allowed to send, optionally only from that IP; repeatable; * is any title ' +
        '(default: any title from this machine only, *@127.0.0.1 and *@::1)',
      collect,
    )
    .option(
      '--model <id[@version]>',
      'model for studies no routing rule matches; repeatable (default: the installed model ' +
        'whose intended use fits each study)',
      collect,
    )
    .option(
      '--shadow <id@version>',
      'model version that also analyses every study the default route takes, in shadow mode: ' +
        'its results are kept in the node (radiolens pilot report) and sent nowhere; repeatable',
      collect,
    )
    .option(
      '--send-to <url>',
      'where results go; repeatable: dicom://AET@host:port, dicomweb+http(s)://host:port/path, ' +
        'fhir+http(s)://host:port/path, file:///absolute/folder',
      collect,
    )
    .option('--watch <dir>', 'watched import folder (default <data>/import)')
    .option('--no-watch', 'do not watch an import folder')
    .option(
      '--quiet-period <seconds>',
      'a study is complete after this long without a new instance (default 30)',
      toNumber,
    )
    .option(
      '--workers <n>',
      'analysis workers in this process (default 1; 0 = ingest only)',
      toNumber,
    )
    .option(
      '--database <postgresql-url>',
      'keep the job queue, outbox, node lease and the reading room (users, sessions, answers, ' +
        'audit chain) in this shared PostgreSQL database, so worker processes on other hosts ' +
        '(radiolens worker) analyse what this node ingests and ingest nodes behind one load ' +
        'balancer are one reading room, a study split across them one analysis (docs/scale-out.md); prefer $RADIOLENS_DATABASE_URL or ~/.pgpass for the password, ' +
        'a flag shows in ps (default: everything in the data directory)',
    )
    .option(
      '--node-id <id>',
      "this process's name in the cluster, unique per process (default serve@<hostname>)",
    )
    .option(
      '--shared-store <dicomweb-url>',
      'with --database: send each stable study to this DICOMweb store (Orthanc with its ' +
        'PostgreSQL plugins, e.g. dicomweb+http://orthanc:8042/dicom-web) before it is ' +
        'queued, and let workers read it from there instead of a shared folder ' +
        '(docs/adr/0187); basic-auth credentials as user:password@ in the URL, better in ' +
        '$RADIOLENS_SHARED_STORE_URL (a flag shows in ps)',
    )
    .option(
      '--max-associations <n>',
      'DICOM associations open at once; one more is refused "local limit exceeded" (default 64)',
      toNumber,
    )
    .option(
      '--dicom-idle-timeout <seconds>',
      'abort a DICOM association that sends and receives nothing this long (default 120)',
      toNumber,
    )
    .option(
      '--registry <dir>',
      'model registry folder (default: $RADIOLENS_MODELS or the shipped models/)',
    )
    .addHelpText(
      'after',
      '\nThe configuration file may also set routes (rules by modality, body part, view, SOP ' +
        'class and calling AE title that choose the models, and "shadow" models; the first ' +
        'matching rule wins), leaseSeconds and shutdownGraceSeconds (docs/adr/0110), ' +
        'patientIdSystem (the FHIR Patient.identifier system URI for this site, docs/adr/0152), and ' +
        '"monitoring": the scheduled drift check of every model version against its package\'s ' +
        'reference (intervalMinutes 60, lastImages 200, persistence 2, webhook; false turns it ' +
        'off), which alerts in the log, in /health and by webhook when drift persists ' +
        '(docs/adr/0087), "dicomLimits" (maxPduLength, maxAssociateRequestLength, ' +
        'maxDatasetBytes, maxAssociations, associationRequestSeconds, idleSeconds, pduSeconds) ' +
        'and "parsingLimits" (maxInflatedBytes, inflateAllowanceBytes, maxSequenceDepth): ' +
        'docs/security.md.\n' +
        'Live routes run the active version of each model (radiolens models promote/rollback); ' +
        'a route pinned to another version is refused.\n' +
        'SIGTERM or SIGINT stops gracefully: no new associations or uploads, stores in progress ' +
        'finish, a running job finishes within the grace period or is re-queued; exit status 0.\n' +
        'Only /health and /api/login are open. People log in (users from "radiolens users ' +
        'add") and hold a session cookie; machine clients present the bearer token set in ' +
        'RADIOLENS_HTTP_TOKEN (or its sha256 as http.tokenSha256 in the file): STOW-RS and ' +
        'DICOMweb reads; addresses on --http-allow may send STOW-RS without it. Every login, ' +
        'read of patient data and answer is a record in <data>/audit/audit.jsonl, or with ' +
        '--database in the shared audit chain (docs/reading-room-http.md). http.tls.certFile/keyFile in the file as --tls-cert/--tls-key. The file ' +
        'also sets http.maxRequestBytes/maxPartBytes (413 above them), storage.group and ' +
        'storage.loosePermissions, health.minFreeBytes and health.stuckJobSeconds ' +
        '(docs/security.md).\n' +
        'With --database (or "database" in the file, or $RADIOLENS_DATABASE_URL) the job queue, ' +
        'outbox, a node lease, users, sessions, answers and the audit chain live in that ' +
        'PostgreSQL database, shared with other ingest nodes and with "radiolens worker" ' +
        'processes (manage them with "radiolens users|audit|feedback … --database"; docs/adr/0188); ' +
        'the instance index stays in --data; the file may also set nodeId and ' +
        'nodeLeaseSeconds (default 30). The study files are read by workers at the paths this ' +
        'node stores them: put --data on storage mounted at the same path on every host ' +
        '(docs/scale-out.md); or, with --shared-store ("sharedStore" in the file), each ' +
        'stable study goes to that DICOMweb store first and workers read it by WADO-RS; while ' +
        'the store does not answer, studies wait here and /health says shared-store-unreachable.\n' +
        'Exit status 2 when the configuration is invalid (every problem is listed); 70 after an ' +
        'internal error (logged as one node-crashed record).',
    )
    .action(async (opts: ServeOptions) => {
      const flags: NodeFlags = {
        ...(opts.config !== undefined ? { config: opts.config } : {}),
        ...(opts.data !== undefined ? { data: opts.data } : {}),
        ...(opts.aeTitle !== undefined ? { aeTitle: opts.aeTitle } : {}),
        ...(opts.dicomPort !== undefined ? { dicomPort: opts.dicomPort } : {}),
        ...(opts.httpPort !== undefined ? { httpPort: opts.httpPort } : {}),
        ...(opts.host !== undefined ? { host: opts.host } : {}),
        ...(opts.dicomHost !== undefined ? { dicomHost: opts.dicomHost } : {}),
        ...(opts.httpHost !== undefined ? { httpHost: opts.httpHost } : {}),
        ...(opts.httpAllow !== undefined ? { httpAllow: opts.httpAllow } : {}),
        ...(opts.tlsCert !== undefined ? { tlsCert: opts.tlsCert } : {}),
        ...(opts.tlsKey !== undefined ? { tlsKey: opts.tlsKey } : {}),
        ...(opts.allow !== undefined ? { allow: opts.allow } : {}),
        ...(opts.model !== undefined ? { model: opts.model } : {}),
        ...(opts.shadow !== undefined ? { shadow: opts.shadow } : {}),
        ...(opts.sendTo !== undefined ? { sendTo: opts.sendTo } : {}),
        // commander: --no-watch gives false, --watch <dir> a string, neither gives true.
        ...(opts.watch === false ? { watch: false } : {}),
        ...(typeof opts.watch === 'string' ? { watch: opts.watch } : {}),
        ...(opts.quietPeriod !== undefined ? { quietPeriod: opts.quietPeriod } : {}),
        ...(opts.workers !== undefined ? { workers: opts.workers } : {}),
        ...(opts.maxAssociations !== undefined ? { maxAssociations: opts.maxAssociations } : {}),
        ...(opts.dicomIdleTimeout !== undefined ? { dicomIdleTimeout: opts.dicomIdleTimeout } : {}),
        ...(opts.database !== undefined ? { database: opts.database } : {}),
        ...(opts.nodeId !== undefined ? { nodeId: opts.nodeId } : {}),
        ...(opts.sharedStore !== undefined ? { sharedStore: opts.sharedStore } : {}),
      };
      const config = loadNodeConfig(
        opts.registry !== undefined ? { ...flags, modelsDir: opts.registry } : flags,
        modelRegistryLocation(),
      );
      const logger = createLogger();
      // Issue #16: stderr is the JSON log. A bug that escapes every handler is still one coded
      // JSON record (its stack only at debug level), then the process exits for its
      // supervisor to restart it — never a raw stack trace in the log.
      const crash = (kind: string) => (error: unknown) => {
        logger.error('node-crashed', {
          kind,
          code: isRadiolensError(error) ? error.code : 'E_UNEXPECTED',
          error: scrub(describeError(error)),
        });
        if (error instanceof Error && error.stack !== undefined) {
          logger.log('debug', 'node-crashed-stack', { stack: scrub(error.stack) });
        }
        process.exit(70); // EX_SOFTWARE
      };
      process.on('uncaughtException', crash('uncaught-exception'));
      process.on('unhandledRejection', crash('unhandled-rejection'));
      const node = await RadiolensNode.start(config, {
        logger,
        version: RADIOLENS_VERSION,
        driftCheck: nodeDriftCheck(config),
      });
      const { dicom, http, watchFolder } = node.listeners;
      const scheme = config.http.tls === null ? 'http' : 'https';
      process.stdout.write(
        `radiolens node listening\n` +
          `  DICOM   ${dicom.aeTitle} on ${dicom.host}:${dicom.port} (C-ECHO, C-STORE)\n` +
          `  HTTP    ${scheme}://${http.host}:${http.port}/health (open to all)\n` +
          `  login   ${scheme}://${http.host}:${http.port}/api/login (users: radiolens users add)\n` +
          `  STOW-RS ${scheme}://${http.host}:${http.port}/dicomweb/studies (${describeHttpAccess(config.http)}, or an administrator)\n` +
          `  reads   ${scheme}://${http.host}:${http.port}/dicomweb (radiologists, or the bearer token)\n` +
          `  viewer  ${scheme}://${http.host}:${http.port}/ohif/ (radiologists; ${isOhifApp(config.viewer.ohifDir) ? `OHIF from ${config.viewer.ohifDir}` : `not installed: radiolens viewer fetch --data ${config.dataDir}`})\n` +
          `  folder  ${watchFolder ?? '(not watching)'}\n` +
          `  data    ${config.dataDir}\n` +
          (config.cluster === null
            ? ''
            : `  cluster ${config.cluster.nodeId} on ${redactUrl(config.cluster.databaseUrl)}\n`) +
          (config.sharedStore === null
            ? ''
            : `  store   ${sharedStoreLabel(config.sharedStore)}\n`) +
          `  results ${config.destinations.map((d) => d.spec).join(', ') || '(kept in the data directory only)'}\n`,
      );
      await new Promise<void>((resolve) => {
        let stopping = false;
        const onSignal = (signal: NodeJS.Signals): void => {
          if (stopping) {
            logger.warn('node-forced-exit', { signal });
            process.exit(1);
          }
          stopping = true;
          logger.info('signal', { signal });
          node.stop().then(resolve, (error: unknown) => {
            logger.error('node-stop-failed', { error: scrub(describeError(error)) });
            process.exitCode = 1;
            resolve();
          });
        };
        process.on('SIGTERM', onSignal);
        process.on('SIGINT', onSignal);
      });
      // onnxruntime and sockets may hold handles; the node is stopped and the database closed.
      process.exit(process.exitCode ?? 0);
    });
};
