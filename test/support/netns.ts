/**
 * A network namespace of the test's own (issue #17): a process started in it reaches the
 * host only through a veth pair, which the test can take down (a cut network: packets
 * vanish, no connection is refused or reset) and bring up again. Needs root or
 * CAP_NET_ADMIN; `NetworkNamespace.create` answers why not otherwise, for the test to skip
 * with that reason. Test support only.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';

function ip(args: readonly string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile('ip', [...args], { timeout: 10_000 }, (error, _stdout, stderr) => {
      if (error !== null) reject(new Error(`ip ${args.join(' ')}: ${stderr || error.message}`));
      else resolve();
    });
  });
}

export class NetworkNamespace {
  private constructor(
    readonly name: string,
    private readonly hostIf: string,
    /** The host's address, as the namespace reaches it. */
    readonly hostAddress: string,
  ) {}

  /** A namespace joined to the host by a veth pair on a /30; a reason string when not permitted. */
  static async create(): Promise<NetworkNamespace | string> {
    const tag = randomBytes(3).toString('hex');
    const name = `rl-${tag}`;
    const hostIf = `rlh${tag}`;
    const nsIf = `rln${tag}`;
    const octet = 1 + (parseInt(tag, 16) % 250);
    const host = `10.231.${octet}.1`;
    const inside = `10.231.${octet}.2`;
    try {
      await ip(['netns', 'add', name]);
    } catch (error) {
      return `cannot make a network namespace here (${(error as Error).message.trim()}); needs root or CAP_NET_ADMIN`;
    }
    const namespace = new NetworkNamespace(name, hostIf, host);
    try {
      await ip(['link', 'add', hostIf, 'type', 'veth', 'peer', 'name', nsIf]);
      await ip(['link', 'set', nsIf, 'netns', name]);
      await ip(['addr', 'add', `${host}/30`, 'dev', hostIf]);
      await ip(['link', 'set', hostIf, 'up']);
      await ip(['-n', name, 'addr', 'add', `${inside}/30`, 'dev', nsIf]);
      await ip(['-n', name, 'link', 'set', nsIf, 'up']);
      await ip(['-n', name, 'link', 'set', 'lo', 'up']);
    } catch (error) {
      await namespace.destroy();
      return `cannot wire a network namespace here (${(error as Error).message.trim()})`;
    }
    return namespace;
  }

  /** The command prefix that runs a program inside the namespace. */
  get prefix(): string[] {
    return ['ip', 'netns', 'exec', this.name];
  }

  /** Takes the link down: the namespace's packets are dropped, nothing is refused or reset. */
  cut(): Promise<void> {
    return ip(['link', 'set', this.hostIf, 'down']);
  }

  restore(): Promise<void> {
    return ip(['link', 'set', this.hostIf, 'up']);
  }

  async destroy(): Promise<void> {
    await ip(['link', 'del', this.hostIf]).catch(() => undefined);
    await ip(['netns', 'del', this.name]).catch(() => undefined);
  }
}
