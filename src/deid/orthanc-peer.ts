/**
 * A throw-away local Orthanc (Debian package) used as the trusted peer for comparison tests
 * and the benchmark: temp config and storage, loopback only, DICOM port off, stopped after.
 * Test and benchmark support only; the product never needs it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const ORTHANC_BINARY = '/usr/sbin/Orthanc';

export function orthancAvailable(): boolean {
  return existsSync(ORTHANC_BINARY);
}

async function freePort(): Promise<number> {
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

export class OrthancPeer {
  private constructor(
    readonly url: string,
    private readonly process: ChildProcess,
    private readonly dir: string,
  ) {}

  static async start(): Promise<OrthancPeer> {
    const dir = await mkdtemp(join(tmpdir(), 'orthanc-peer-'));
    const port = await freePort();
    const config = {
      Name: 'radiolens-peer',
      StorageDirectory: join(dir, 'storage'),
      IndexDirectory: join(dir, 'storage'),
      HttpPort: port,
      DicomServerEnabled: false,
      RemoteAccessAllowed: false,
      AuthenticationEnabled: false,
      Plugins: [],
      StorageCompression: false,
      SaveJobs: false,
      HttpThreadsCount: 2,
    };
    await writeFile(join(dir, 'orthanc.json'), JSON.stringify(config));
    const child = spawn(ORTHANC_BINARY, [join(dir, 'orthanc.json')], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr?.on(
      'data',
      (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-4000)),
    );
    const url = `http://127.0.0.1:${port}`;
    const peer = new OrthancPeer(url, child, dir);
    for (let i = 0; i < 100; i++) {
      if (child.exitCode !== null) break;
      try {
        if ((await fetch(`${url}/system`)).ok) return peer;
      } catch {
        // not listening yet
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    await peer.stop();
    throw new Error(`Orthanc did not start on ${url}: ${stderr}`);
  }

  /** Upload one file; returns Orthanc's instance id, or undefined if Orthanc rejects it. */
  async upload(bytes: Uint8Array): Promise<string | undefined> {
    const response = await fetch(`${this.url}/instances`, { method: 'POST', body: bytes });
    if (!response.ok) return undefined;
    return ((await response.json()) as { ID: string }).ID;
  }

  /** Orthanc's /anonymize (its default profile: Basic Profile of DICOM 2021b). */
  async anonymize(id: string): Promise<Uint8Array> {
    const response = await fetch(`${this.url}/instances/${id}/anonymize`, {
      method: 'POST',
      body: '{}',
    });
    if (!response.ok) throw new Error(`Orthanc anonymize ${id}: HTTP ${response.status}`);
    return new Uint8Array(await response.arrayBuffer());
  }

  /** CPU seconds Orthanc has used so far (user + system), from /proc. */
  async cpuSeconds(): Promise<number> {
    const stat = await readFile(`/proc/${this.process.pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100; // utime + stime, in clock ticks
  }

  async stop(): Promise<void> {
    if (this.process.exitCode === null) {
      const exited = new Promise((r) => this.process.once('exit', r));
      this.process.kill('SIGTERM');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
      if (this.process.exitCode === null) this.process.kill('SIGKILL');
    }
    await rm(this.dir, { recursive: true, force: true });
  }
}
