/**
 * A PostgreSQL server of the test's own (issue #17's failure tests): initdb into a temporary
 * folder, started with pg_ctl on a free port, so a test may stop, restart or kill it without
 * disturbing the machine's server that other tests use. Trust authentication, listening only
 * on the addresses the test names. As root, the server runs as the `postgres` user (initdb
 * refuses root). Test support only.
 */
import { execFile } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { appendFile, chmod, chown, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';

function binDir(): string {
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root)
    ? readdirSync(root)
        .filter((v) => existsSync(join(root, v, 'bin', 'initdb')))
        .sort((a, b) => Number(b) - Number(a))
    : [];
  if (versions[0] === undefined) {
    throw new Error(
      "initdb not found under /usr/lib/postgresql — run 'tools/test-tools.sh install' (Debian postgresql)",
    );
  }
  return join(root, versions[0], 'bin');
}

function exec(file: string, args: readonly string[]): Promise<string> {
  const asRoot = userInfo().uid === 0;
  const [cmd, argv] = asRoot
    ? ['runuser', ['-u', 'postgres', '--', file, ...args]]
    : [file, [...args]];
  return new Promise((resolve, reject) => {
    execFile(cmd, argv, { timeout: 60_000 }, (error, stdout, stderr) => {
      if (error !== null)
        reject(new Error(`${file} ${args.join(' ')}: ${stderr || error.message}`));
      else resolve(stdout);
    });
  });
}

export class OwnPostgres {
  private constructor(
    readonly dir: string,
    readonly port: number,
    private readonly bin: string,
    private readonly options: string,
  ) {}

  /** postgresql://postgres@<host>:<port>/<database> */
  url(database = 'postgres', host = '127.0.0.1'): string {
    return `postgresql://postgres@${host}:${this.port}/${database}`;
  }

  static async start(
    port: number,
    listen: readonly string[] = ['127.0.0.1'],
  ): Promise<OwnPostgres> {
    const bin = binDir();
    const dir = await mkdtemp(join(tmpdir(), 'radiolens-pg-'));
    if (userInfo().uid === 0) {
      const { uid, gid } = await postgresIds();
      await chown(dir, uid, gid);
    }
    await chmod(dir, 0o700);
    const data = join(dir, 'data');
    await exec(join(bin, 'initdb'), ['-D', data, '-A', 'trust', '-U', 'postgres', '-E', 'UTF8']);
    // Other listen addresses (a network namespace's veth) are trusted from their /24 too.
    const extra = listen
      .filter((address) => address !== '127.0.0.1' && address !== '::1')
      .map((address) => `host all all ${address.split('.').slice(0, 3).join('.')}.0/24 trust\n`)
      .join('');
    if (extra !== '') await appendFile(join(data, 'pg_hba.conf'), extra);
    // fsync stays on: the failure tests are about what survives a restart.
    const options = `-p ${port} -k ${dir} -c listen_addresses='${listen.join(',')}' -c max_connections=100`;
    const server = new OwnPostgres(dir, port, bin, options);
    await server.startServer();
    return server;
  }

  private async startServer(): Promise<void> {
    await exec(join(this.bin, 'pg_ctl'), [
      '-D',
      join(this.dir, 'data'),
      '-o',
      this.options,
      '-l',
      join(this.dir, 'server.log'),
      '-w',
      'start',
    ]);
  }

  /** Stops the server (fast: every session ends at once, as in a failover or a restart). */
  async stop(): Promise<void> {
    await exec(join(this.bin, 'pg_ctl'), [
      '-D',
      join(this.dir, 'data'),
      '-m',
      'fast',
      '-w',
      'stop',
    ]);
  }

  async startAgain(): Promise<void> {
    await this.startServer();
  }

  async createDatabase(name: string): Promise<void> {
    await exec(join(this.bin, 'psql'), [
      '-h',
      this.dir,
      '-p',
      String(this.port),
      '-U',
      'postgres',
      '-c',
      `CREATE DATABASE ${name}`,
    ]);
  }

  /** Stops the server at once and removes its files. */
  async destroy(): Promise<void> {
    await exec(join(this.bin, 'pg_ctl'), [
      '-D',
      join(this.dir, 'data'),
      '-m',
      'immediate',
      '-w',
      'stop',
    ]).catch(() => undefined);
    await rm(this.dir, { recursive: true, force: true });
  }
}

async function postgresIds(): Promise<{ uid: number; gid: number }> {
  const out = await new Promise<string>((resolve, reject) =>
    execFile('id', ['postgres'], (error, stdout) => (error ? reject(error) : resolve(stdout))),
  );
  const uid = /uid=(\d+)/.exec(out)?.[1];
  const gid = /gid=(\d+)/.exec(out)?.[1];
  if (uid === undefined || gid === undefined) throw new Error(`no postgres user: ${out}`);
  return { uid: Number(uid), gid: Number(gid) };
}
