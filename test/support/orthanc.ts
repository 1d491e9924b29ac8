/**
 * A throw-away Orthanc (Debian package `orthanc`, plus `orthanc-dicomweb` when asked) as the
 * real PACS in integration tests and benchmarks (ADR 0098): free loopback ports, a temporary
 * configuration and storage folder, REST API awaited, process stopped and folder removed
 * afterwards. A missing package is an error that says what to install — tests fail, they
 * never skip. Test and benchmark support only; the product never needs it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const ORTHANC_BINARY = '/usr/sbin/Orthanc';
export const ORTHANC_DICOMWEB_PLUGIN = '/usr/share/orthanc/plugins/libOrthancDicomWeb.so';
/** Package orthanc-postgresql: the index and the storage area in PostgreSQL (ADR 0187). */
export const ORTHANC_POSTGRESQL_PLUGINS = [
  '/usr/share/orthanc/plugins/libOrthancPostgreSQLIndex.so',
  '/usr/share/orthanc/plugins/libOrthancPostgreSQLStorage.so',
] as const;

/** A free TCP port on the loopback interface (closed again before it is returned). */
export async function freeLoopbackPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

export interface OrthancOptions {
  /** Enable Orthanc's DICOM server (C-STORE SCU/SCP); default true. */
  readonly dicom?: boolean;
  /** Orthanc's own AE title; default ORTHANC. */
  readonly aeTitle?: string;
  /** Load the DICOMweb plugin (package orthanc-dicomweb); default false. */
  readonly dicomWeb?: boolean;
  /**
   * Remote DICOMweb servers Orthanc may send to (`DicomWeb.Servers`), by name: POST
   * `/dicom-web/servers/<name>/stow` with `{Resources: [...]}` sends by STOW-RS. Needs
   * `dicomWeb: true`. `url` is the DICOMweb root (…/studies is appended by Orthanc).
   */
  readonly dicomWebServers?: Readonly<Record<string, { readonly url: string }>>;
  /**
   * DCMTK's TCP_NODELAY switch for Orthanc's DICOM connections; default true. Debian's build
   * leaves Nagle's algorithm on, which holds each C-STORE-RSP for the peer's delayed ACK (about
   * 40 ms per instance: 21 instances/s whatever their size). A tuned PACS turns it off;
   * benchmarks report both.
   */
  readonly tcpNoDelay?: boolean;
  /**
   * Keep the index and the DICOM files in this PostgreSQL database (package
   * orthanc-postgresql) instead of SQLite and a folder. Several Orthancs on one database are
   * one store: what one stores, the others serve (the plugin's "Lock" is off for that).
   */
  readonly postgresUrl?: string;
  /** HTTP basic-auth users (name → password); the harness itself uses the first. */
  readonly users?: Readonly<Record<string, string>>;
}

export interface DicomModality {
  readonly aeTitle: string;
  readonly host: string;
  readonly port: number;
}

export class OrthancServer {
  private constructor(
    /** REST API base, e.g. http://127.0.0.1:41234 */
    readonly url: string,
    /** Orthanc's DICOM port; 0 when its DICOM server is off. */
    readonly dicomPort: number,
    readonly aeTitle: string,
    private process: ChildProcess,
    private readonly dir: string,
    private readonly env: NodeJS.ProcessEnv,
    /** The harness's own credentials when the server has users. */
    private readonly auth: Readonly<Record<string, string>> = {},
  ) {}

  static async start(options: OrthancOptions = {}): Promise<OrthancServer> {
    if (!existsSync(ORTHANC_BINARY)) {
      throw new Error(`${ORTHANC_BINARY} not found: install the Debian package orthanc`);
    }
    if (options.postgresUrl !== undefined) {
      for (const plugin of ORTHANC_POSTGRESQL_PLUGINS) {
        if (!existsSync(plugin)) {
          throw new Error(`${plugin} not found: install the Debian package orthanc-postgresql`);
        }
      }
    }
    if (options.dicomWeb === true && !existsSync(ORTHANC_DICOMWEB_PLUGIN)) {
      throw new Error(
        `${ORTHANC_DICOMWEB_PLUGIN} not found: install the Debian package orthanc-dicomweb`,
      );
    }
    const dicom = options.dicom ?? true;
    const aeTitle = options.aeTitle ?? 'ORTHANC';
    const dir = await mkdtemp(join(tmpdir(), 'radiolens-orthanc-'));
    const httpPort = await freeLoopbackPort();
    const dicomPort = dicom ? await freeLoopbackPort() : 0;
    const config: Record<string, unknown> = {
      Name: 'radiolens-test-pacs',
      StorageDirectory: join(dir, 'storage'),
      IndexDirectory: join(dir, 'storage'),
      HttpPort: httpPort,
      RemoteAccessAllowed: false,
      AuthenticationEnabled: options.users !== undefined,
      ...(options.users === undefined ? {} : { RegisteredUsers: options.users }),
      DicomServerEnabled: dicom,
      DicomAet: aeTitle,
      DicomPort: dicomPort === 0 ? 4242 : dicomPort,
      // Tests register modalities at run time through the REST API; kept across pause/resume.
      DicomModalitiesInDatabase: true,
      DicomAlwaysAllowStore: true,
      DicomCheckCalledAet: false,
      Plugins: [
        ...(options.dicomWeb === true ? [ORTHANC_DICOMWEB_PLUGIN] : []),
        ...(options.postgresUrl === undefined ? [] : ORTHANC_POSTGRESQL_PLUGINS),
      ],
      ...(options.postgresUrl === undefined
        ? {}
        : {
            PostgreSQL: {
              EnableIndex: true,
              EnableStorage: true,
              ConnectionUri: options.postgresUrl,
              // Several Orthancs share the database (plugin 4.0: multiple readers/writers).
              Lock: false,
              IndexConnectionsCount: 2,
            },
          }),
      DicomWeb: {
        Enable: options.dicomWeb === true,
        Root: '/dicom-web/',
        ...(options.dicomWebServers === undefined
          ? {}
          : {
              Servers: Object.fromEntries(
                Object.entries(options.dicomWebServers).map(([name, s]) => [name, { Url: s.url }]),
              ),
            }),
      },
      // Keep the files as received, so tests can compare bytes.
      StorageCompression: false,
      SaveJobs: false,
      HttpThreadsCount: 4,
      ConcurrentJobs: 2,
    };
    await writeFile(join(dir, 'orthanc.json'), JSON.stringify(config));
    const url = `http://127.0.0.1:${httpPort}`;
    const env = { ...process.env, TCP_NODELAY: options.tcpNoDelay === false ? '0' : '1' };
    const [user] = Object.entries(options.users ?? {});
    const auth: Record<string, string> =
      user === undefined
        ? {}
        : { authorization: `Basic ${Buffer.from(`${user[0]}:${user[1]}`).toString('base64')}` };
    const server = new OrthancServer(
      url,
      dicomPort,
      aeTitle,
      spawnOrthanc(dir, env),
      dir,
      env,
      auth,
    );
    await server.awaitReady();
    return server;
  }

  /** Waits for the REST API; on failure stops the process and throws with Orthanc's stderr. */
  private async awaitReady(): Promise<void> {
    let stderr = '';
    this.process.stderr?.on(
      'data',
      (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-4000)),
    );
    for (let i = 0; i < 200; i++) {
      if (this.process.exitCode !== null) break;
      try {
        if ((await fetch(`${this.url}/system`, { headers: this.auth })).ok) return;
      } catch {
        // not listening yet
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    await this.stop();
    throw new Error(`Orthanc did not start on ${this.url}: ${stderr}`);
  }

  /**
   * Stops the Orthanc process but keeps its configuration and storage, as when a PACS goes
   * down for maintenance; `resume()` starts it again on the same ports with the same data.
   * Modalities registered through the REST API are kept (they live in its database).
   */
  async pause(): Promise<void> {
    await this.stopProcess();
  }

  async resume(): Promise<void> {
    if (this.process.exitCode === null && this.process.signalCode === null) return;
    this.process = spawnOrthanc(this.dir, this.env);
    await this.awaitReady();
  }

  private async request(
    method: string,
    path: string,
    body?: string | Uint8Array,
  ): Promise<Response> {
    const response = await fetch(`${this.url}${path}`, {
      method,
      body: body ?? null,
      headers: this.auth,
    });
    if (!response.ok) {
      throw new Error(
        `Orthanc ${method} ${path}: HTTP ${response.status} ${await response.text()}`,
      );
    }
    return response;
  }

  /** Uploads a Part 10 file; returns Orthanc's instance id. */
  async upload(bytes: Uint8Array): Promise<string> {
    const response = await this.request('POST', '/instances', bytes);
    return ((await response.json()) as { ID: string }).ID;
  }

  /** Registers (or replaces) a DICOM modality Orthanc can send to. */
  async registerModality(id: string, modality: DicomModality): Promise<void> {
    await this.request(
      'PUT',
      `/modalities/${encodeURIComponent(id)}`,
      JSON.stringify({ AET: modality.aeTitle, Host: modality.host, Port: modality.port }),
    );
  }

  /** C-STORE of Orthanc resources (instance, series, study ids) to a registered modality. */
  async storeToModality(id: string, resources: readonly string[]): Promise<void> {
    await this.request(
      'POST',
      `/modalities/${encodeURIComponent(id)}/store`,
      JSON.stringify({ Resources: resources, Synchronous: true }),
    );
  }

  /** The file Orthanc holds for an instance, exactly as stored. */
  async instanceFile(id: string): Promise<Uint8Array> {
    const response = await this.request('GET', `/instances/${encodeURIComponent(id)}/file`);
    return new Uint8Array(await response.arrayBuffer());
  }

  /** GET on the REST API, parsed as JSON. */
  async getJson<T>(path: string): Promise<T> {
    return (await (await this.request('GET', path)).json()) as T;
  }

  /** CPU seconds Orthanc has used so far (user + system), from /proc: for benchmarks. */
  async cpuSeconds(): Promise<number> {
    const stat = await readFile(`/proc/${this.process.pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100; // utime + stime, in clock ticks
  }

  async stop(): Promise<void> {
    await this.stopProcess();
    await rm(this.dir, { recursive: true, force: true });
  }

  private async stopProcess(): Promise<void> {
    if (this.process.exitCode !== null || this.process.signalCode !== null) return;
    const exited = new Promise((r) => this.process.once('exit', r));
    this.process.kill('SIGTERM');
    await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
    if (this.process.exitCode === null && this.process.signalCode === null) {
      this.process.kill('SIGKILL');
      await exited;
    }
  }
}

function spawnOrthanc(dir: string, env: NodeJS.ProcessEnv): ChildProcess {
  return spawn(ORTHANC_BINARY, [join(dir, 'orthanc.json')], {
    stdio: ['ignore', 'ignore', 'pipe'],
    env,
  });
}
