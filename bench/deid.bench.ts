/**
 * De-identification throughput, ours vs Orthanc's /anonymize, on the same files in the same
 * run (issue #4, item 9). Two workloads: the conformance corpus (files both sides
 * de-identify) and a generated CT-like series (default 1,000 instances from the real GE CT
 * header, 512×512×16 bit). Prints files/s and MB/s by wall clock and per CPU-second (our
 * process vs the Orthanc process, read from /proc), so "per core" compares like with like.
 *
 * Usage: npx tsx bench/deid.bench.ts [--instances 1000] [--rounds 5]
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { conformanceDir } from '../test/support/index.js';
import {
  DeidKeys,
  deidentifyBytes,
  readTaggedFile,
  writeTaggedFile,
  type DeidConfig,
} from '../src/lifecycle/deid/index.js';
import { OrthancPeer, orthancAvailable } from '../test/support/orthancPeer.js';

interface Measure {
  files: number;
  bytes: number;
  wallS: number;
  cpuS: number;
}

const arg = (name: string, fallback: number): number => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
};

function generatedSeries(count: number): Uint8Array[] {
  const template = readFileSync(join(conformanceDir, 'cornerstone3D', 'CTImage.dcm'));
  const file = readTaggedFile(template, 'CTImage.dcm');
  const out: Uint8Array[] = [];
  const root = '1.2.826.0.1.3680043.99.500';
  for (let i = 1; i <= count; i++) {
    file.dict['0020000D'] = { vr: 'UI', Value: [root] };
    file.dict['0020000E'] = { vr: 'UI', Value: [`${root}.1`] };
    file.dict['00080018'] = { vr: 'UI', Value: [`${root}.1.${i}`] };
    file.meta['00020003'] = { vr: 'UI', Value: [`${root}.1.${i}`] };
    file.dict['00200013'] = { vr: 'IS', Value: [String(i)] };
    file.dict['00200032'] = { vr: 'DS', Value: ['-161.4', '-148.8', String(i * 0.625)] };
    out.push(writeTaggedFile(file));
  }
  return out;
}

function ours(files: readonly Uint8Array[], config: DeidConfig, rounds: number): Measure {
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  let bytes = 0;
  for (let round = 0; round < rounds; round++) {
    for (const [n, f] of files.entries()) {
      const r = deidentifyBytes(f, config, `file${n}`);
      if (r.kind !== 'deidentified') throw new Error(`file${n} not de-identified`);
      bytes += f.byteLength;
    }
  }
  const cpu = process.cpuUsage(cpu0);
  return {
    files: files.length * rounds,
    bytes,
    wallS: (performance.now() - t0) / 1000,
    cpuS: (cpu.user + cpu.system) / 1e6,
  };
}

/** Upload (untimed); keep only the files Orthanc accepts and anonymizes, so both sides do the same work. */
async function upload(
  peer: OrthancPeer,
  files: readonly Uint8Array[],
): Promise<{ files: Uint8Array[]; ids: string[] }> {
  const out: { files: Uint8Array[]; ids: string[] } = { files: [], ids: [] };
  for (const f of files) {
    const id = await peer.upload(f);
    if (id === undefined) continue;
    // One untimed anonymization: drops files Orthanc cannot anonymize and warms its caches.
    if (
      !(await peer.anonymize(id).then(
        () => true,
        () => false,
      ))
    )
      continue;
    out.files.push(f);
    out.ids.push(id);
  }
  return out;
}

async function orthanc(
  peer: OrthancPeer,
  files: readonly Uint8Array[],
  ids: readonly string[],
  rounds: number,
): Promise<Measure> {
  const cpu0 = await peer.cpuSeconds();
  const t0 = performance.now();
  for (let round = 0; round < rounds; round++) for (const id of ids) await peer.anonymize(id);
  return {
    files: files.length * rounds,
    bytes: rounds * files.reduce((s, f) => s + f.byteLength, 0),
    wallS: (performance.now() - t0) / 1000,
    cpuS: (await peer.cpuSeconds()) - cpu0,
  };
}

function row(workload: string, who: string, m: Measure): string {
  const mb = m.bytes / 1e6;
  const cells = [
    workload,
    who,
    String(m.files),
    mb.toFixed(1),
    (m.files / m.wallS).toFixed(1),
    (mb / m.wallS).toFixed(1),
    (m.files / m.cpuS).toFixed(1),
    (mb / m.cpuS).toFixed(1),
  ];
  return `| ${cells.join(' | ')} |`;
}

async function main(): Promise<void> {
  if (!orthancAvailable()) throw new Error('Orthanc is not installed (Debian package orthanc)');
  const config: DeidConfig = { options: new Set(), keys: new DeidKeys(Buffer.alloc(32, 11)) };
  const corpus = ['cornerstone3D', 'pydicom-data']
    .flatMap((d) =>
      readdirSync(join(conformanceDir, d))
        .filter((f) => f.endsWith('.dcm'))
        .map((f) => readFileSync(join(conformanceDir, d, f))),
    )
    .filter((bytes) => {
      // Only files we de-identify (not quarantined, not broken): the same work for both.
      try {
        return deidentifyBytes(bytes, config, 'probe').kind === 'deidentified';
      } catch {
        return false;
      }
    });
  const series = generatedSeries(arg('instances', 1000));

  const peer = await OrthancPeer.start();
  const lines = [
    '| workload | engine | files | MB | files/s | MB/s | files/CPU-s | MB/CPU-s |',
    '|---|---|---|---|---|---|---|---|',
  ];
  const ratios: string[] = [];
  try {
    // The corpus is small (tens of files): repeat it so timings are not dominated by noise.
    for (const [name, files, rounds] of [
      ['conformance corpus', corpus, arg('rounds', 5)],
      [`CT-like series`, series, 1],
    ] as const) {
      const accepted = await upload(peer, files); // includes one untimed Orthanc pass
      ours(accepted.files, config, 1); // the same untimed warm-up pass for us
      const a = ours(accepted.files, config, rounds);
      const b = await orthanc(peer, accepted.files, accepted.ids, rounds);
      lines.push(row(name, 'radiolens', a), row(name, 'Orthanc /anonymize', b));
      ratios.push(
        `${name}: ${(b.wallS / a.wallS).toFixed(1)}× Orthanc by wall clock, ` +
          `${(a.files / a.cpuS / (b.files / b.cpuS)).toFixed(1)}× per CPU-second`,
      );
    }
  } finally {
    await peer.stop();
  }
  process.stdout.write(`${lines.join('\n')}\n\n${ratios.join('\n')}\n`);
}

await main();
