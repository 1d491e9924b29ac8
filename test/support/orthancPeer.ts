/**
 * A throw-away local Orthanc (Debian package) used as the trusted peer for de-identification
 * comparison tests and the benchmark: the shared test harness (src/testing/orthanc.ts) with its
 * DICOM port off, plus the one call only this peer needs, /anonymize. Test and benchmark
 * support only; the product never needs it.
 */
import { existsSync } from 'node:fs';
import { ORTHANC_BINARY, OrthancServer } from './orthanc.js';

export { ORTHANC_BINARY };

export function orthancAvailable(): boolean {
  return existsSync(ORTHANC_BINARY);
}

export class OrthancPeer {
  private constructor(private readonly server: OrthancServer) {}

  static async start(): Promise<OrthancPeer> {
    return new OrthancPeer(await OrthancServer.start({ dicom: false }));
  }

  get url(): string {
    return this.server.url;
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

  /** CPU seconds Orthanc has used so far (user + system). */
  cpuSeconds(): Promise<number> {
    return this.server.cpuSeconds();
  }

  stop(): Promise<void> {
    return this.server.stop();
  }
}
