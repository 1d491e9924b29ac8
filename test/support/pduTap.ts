/**
 * A TCP relay between a DICOM peer and our SCP that reads the upper-layer PDUs (PS3.8 9.3)
 * going to the SCP. Tests use it to see the dataset bytes exactly as they were on the wire
 * and to abort an association in the middle of a C-STORE. Test support only.
 */
import { connect, createServer, type Server, type Socket } from 'node:net';

const PDU_P_DATA_TF = 0x04;
/** A-ABORT, source 0 (service user), reason 0 (PS3.8 9.3.8). */
const A_ABORT = Buffer.from([0x07, 0, 0, 0, 0, 4, 0, 0, 0, 0]);

export interface PduTapOptions {
  readonly targetPort: number;
  /**
   * After this many P-DATA-TF PDUs carrying dataset (not command) fragments have been
   * relayed, send an A-ABORT to the SCP in place of the rest and cut both connections.
   */
  readonly abortAfterDataPdus?: number;
}

export class PduTap {
  /** Dataset bytes of each completed message (last fragment seen), in order. */
  readonly datasets: Buffer[] = [];
  /** P-DATA-TF PDUs with dataset fragments relayed so far. */
  dataPdus = 0;
  aborted = false;

  private constructor(
    private readonly server: Server,
    readonly port: number,
  ) {}

  static async start(options: PduTapOptions): Promise<PduTap> {
    const holder: { tap?: PduTap } = {};
    const server = createServer((client) => {
      const upstream = connect(options.targetPort, '127.0.0.1');
      upstream.on('data', (chunk) => client.write(chunk));
      upstream.on('error', () => client.destroy());
      upstream.on('close', () => client.end());
      client.on('error', () => upstream.destroy());
      client.on('close', () => upstream.end());
      holder.tap?.relay(client, upstream, options);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const address = server.address();
    const tap = new PduTap(
      server,
      typeof address === 'object' && address !== null ? address.port : 0,
    );
    holder.tap = tap;
    return tap;
  }

  private relay(client: Socket, upstream: Socket, options: PduTapOptions): void {
    let pending = Buffer.alloc(0);
    let current: Buffer[] = [];
    client.on('data', (chunk: Buffer) => {
      if (this.aborted) return;
      pending = Buffer.concat([pending, chunk]);
      while (pending.length >= 6) {
        const length = pending.readUInt32BE(2);
        if (pending.length < 6 + length) break;
        const pdu = pending.subarray(0, 6 + length);
        pending = pending.subarray(6 + length);
        let carriesData = false;
        if (pdu[0] === PDU_P_DATA_TF) {
          for (let at = 6; at < pdu.length;) {
            const itemLength = pdu.readUInt32BE(at);
            const control = pdu[at + 5] ?? 0;
            if ((control & 0x01) === 0) {
              carriesData = true;
              current.push(pdu.subarray(at + 6, at + 4 + itemLength));
              if ((control & 0x02) !== 0) {
                this.datasets.push(Buffer.concat(current));
                current = [];
              }
            }
            at += 4 + itemLength;
          }
        }
        upstream.write(pdu);
        if (carriesData) this.dataPdus++;
        if (
          carriesData &&
          options.abortAfterDataPdus !== undefined &&
          this.dataPdus >= options.abortAfterDataPdus
        ) {
          this.aborted = true;
          upstream.end(A_ABORT);
          client.destroy();
          return;
        }
      }
    });
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
