/**
 * A TCP relay on a fixed loopback port that can be taken down and brought back (test support
 * only): a destination points at the relay, the relay forwards to the real peer (Orthanc).
 * While it is down nothing listens on the port — connection refused, exactly like a PACS
 * that is stopped — and the peer keeps its state for when it comes back.
 */
import { connect, createServer, type Server, type Socket } from 'node:net';
import { freeLoopbackPort } from '../orthanc.js';

export class SwitchableRelay {
  /** Connections accepted so far (one per DICOM association, per HTTP connection). */
  connections = 0;
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();

  private constructor(
    readonly port: number,
    private readonly targetPort: number,
  ) {}

  /** A relay to targetPort, down until up() is called. */
  static async create(targetPort: number): Promise<SwitchableRelay> {
    return new SwitchableRelay(await freeLoopbackPort(), targetPort);
  }

  async up(): Promise<void> {
    if (this.server !== undefined) return;
    const server = createServer((client) => {
      this.connections += 1;
      const upstream = connect(this.targetPort, '127.0.0.1');
      for (const socket of [client, upstream]) {
        this.sockets.add(socket);
        socket.once('close', () => this.sockets.delete(socket));
      }
      client.pipe(upstream);
      upstream.pipe(client);
      client.on('error', () => upstream.destroy());
      upstream.on('error', () => client.destroy());
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', resolve);
    });
    this.server = server;
  }

  /** Stops listening and cuts every connection. */
  async down(): Promise<void> {
    const server = this.server;
    if (server === undefined) return;
    this.server = undefined;
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
