/**
 * The OHIF Viewer as part of the product (issue #13 Deliver 3; ADRs 0153, 0195): the built app
 * that npm's `@ohif/app` ships in `dist/`, pinned to one version and its registry integrity.
 * `@ohif/app` is not an npm dependency — its dependency tree is the whole OHIF monorepo — so
 * `radiolens viewer fetch` takes the one tarball (`npm pack`, or a file copied in for a site
 * without registry access), checks it against the pinned integrity, and unpacks `dist/` into
 * a folder of its own, beside the node's data (`<data>/viewer/ohif-<version>/dist`).
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { RadiolensError } from '../../foundation/core/index.js';

const run = promisify(execFile);

export const OHIF_APP_PACKAGE = '@ohif/app';
export const OHIF_APP_VERSION = '3.13.2';
/** `npm view @ohif/app@3.13.2 dist.integrity`: any other tarball is refused. */
export const OHIF_APP_INTEGRITY =
  'sha512-WZdxmpmG7rqFgW9ZJLcbgr3XCtLi1KDNPoMaeY5PPe6j4G4fjEjjkycZM6C6Zk2F87BKxFfpq+jd5xXZB9E8EA==';

/** Where `viewer fetch` installs the app for the node whose data folder is `dataDir`. */
export function defaultOhifDir(dataDir: string): string {
  return join(dataDir, 'viewer', `ohif-${OHIF_APP_VERSION}`, 'dist');
}

/** Whether `dir` holds a built OHIF app (its index.html). */
export function isOhifApp(dir: string): boolean {
  return existsSync(join(dir, 'index.html'));
}

/** The tarball's integrity in npm's form (`sha512-<base64>`). */
export function integrityOf(bytes: Uint8Array): string {
  return `sha512-${createHash('sha512').update(bytes).digest('base64')}`;
}

export interface OhifInstall {
  /** The folder holding index.html and the bundles. */
  readonly dist: string;
  readonly version: string;
  readonly integrity: string;
  /** 'installed' now, or 'present' (already there, nothing fetched). */
  readonly outcome: 'installed' | 'present';
  readonly source: string;
}

export interface InstallOhifOptions {
  /** The folder that will hold index.html (default: defaultOhifDir of the data folder). */
  readonly dist: string;
  /** A copy of the `@ohif/app@<version>` tarball; absent: `npm pack` from the registry. */
  readonly from?: string;
  /** Replace an installed app (default: keep it). */
  readonly force?: boolean;
}

/** `npm pack` of the pinned version into `dir`; the tarball's path. */
async function packFromRegistry(dir: string): Promise<string> {
  try {
    const { stdout } = await run(
      'npm',
      ['pack', `${OHIF_APP_PACKAGE}@${OHIF_APP_VERSION}`, '--pack-destination', dir, '--silent'],
      { maxBuffer: 1 << 20 },
    );
    return join(dir, stdout.trim().split('\n').pop()!);
  } catch (cause) {
    throw new RadiolensError(
      'E_IO',
      `cannot fetch ${OHIF_APP_PACKAGE}@${OHIF_APP_VERSION} from the npm registry: ${(cause as Error).message.split('\n')[0]} — ` +
        `on a machine without registry access, copy the tarball in (npm pack ${OHIF_APP_PACKAGE}@${OHIF_APP_VERSION} elsewhere) and run "radiolens viewer fetch --from <tarball>"`,
      { cause },
    );
  }
}

/**
 * Installs the pinned OHIF app: the tarball's integrity is checked before anything is
 * unpacked, `dist/` is unpacked into a staging folder beside the target and renamed into
 * place, so a half-unpacked app is never served.
 */
export async function installOhifApp(options: InstallOhifOptions): Promise<OhifInstall> {
  const dist = resolve(options.dist);
  const source = options.from === undefined ? 'npm registry' : resolve(options.from);
  if (isOhifApp(dist) && options.force !== true) {
    const stamp = await readStamp(dist);
    return {
      dist,
      version: stamp?.version ?? OHIF_APP_VERSION,
      integrity: stamp?.integrity ?? OHIF_APP_INTEGRITY,
      outcome: 'present',
      source: stamp?.source ?? 'unknown',
    };
  }
  const parent = dirname(dist);
  await mkdir(parent, { recursive: true });
  const staging = await mkdtemp(join(parent, '.staging-'));
  try {
    const tarball =
      options.from === undefined ? await packFromRegistry(staging) : resolve(options.from);
    let bytes: Buffer;
    try {
      bytes = await readFile(tarball);
    } catch (cause) {
      throw new RadiolensError(
        'E_BAD_INPUT',
        `cannot read the OHIF tarball ${tarball}: ${(cause as Error).message} — give the file from "npm pack ${OHIF_APP_PACKAGE}@${OHIF_APP_VERSION}"`,
        { subject: tarball, cause },
      );
    }
    const integrity = integrityOf(bytes);
    if (integrity !== OHIF_APP_INTEGRITY) {
      throw new RadiolensError(
        'E_PACKAGE_TAMPERED',
        `${tarball} is not ${OHIF_APP_PACKAGE}@${OHIF_APP_VERSION}: its integrity is ${integrity}, the pinned one ${OHIF_APP_INTEGRITY} — ` +
          `fetch the exact version (npm pack ${OHIF_APP_PACKAGE}@${OHIF_APP_VERSION})`,
        { subject: tarball },
      );
    }
    try {
      await run('tar', ['-xzf', tarball, '-C', staging, 'package/dist'], { maxBuffer: 1 << 20 });
    } catch (cause) {
      throw new RadiolensError(
        'E_IO',
        `cannot unpack ${tarball}: ${(cause as Error).message.split('\n')[0]} — check free space under ${parent}`,
        { cause },
      );
    }
    const unpacked = join(staging, 'package', 'dist');
    if (!isOhifApp(unpacked)) {
      throw new RadiolensError(
        'E_PACKAGE_TAMPERED',
        `${OHIF_APP_PACKAGE}@${OHIF_APP_VERSION} has no built app in dist/`,
      );
    }
    await writeFile(
      join(unpacked, STAMP_FILE),
      `${JSON.stringify({ package: OHIF_APP_PACKAGE, version: OHIF_APP_VERSION, integrity, source, installedAt: new Date().toISOString() }, null, 2)}\n`,
    );
    // Another install may have finished meanwhile (tests fetch in parallel): keep the first
    // unless asked to replace it; renaming onto a folder that is not empty fails.
    if (options.force === true || !isOhifApp(dist))
      await rm(dist, { recursive: true, force: true });
    try {
      await rename(unpacked, dist);
    } catch (cause) {
      const code = (cause as NodeJS.ErrnoException).code;
      if ((code === 'ENOTEMPTY' || code === 'EEXIST') && isOhifApp(dist)) {
        return { dist, version: OHIF_APP_VERSION, integrity, outcome: 'present', source };
      }
      throw cause;
    }
    return { dist, version: OHIF_APP_VERSION, integrity, outcome: 'installed', source };
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
}

/** Written beside index.html: which package, version and integrity the folder came from. */
export const STAMP_FILE = 'radiolens-ohif.json';

async function readStamp(
  dist: string,
): Promise<{ version?: string; integrity?: string; source?: string } | undefined> {
  try {
    return JSON.parse(await readFile(join(dist, STAMP_FILE), 'utf8')) as {
      version?: string;
      integrity?: string;
      source?: string;
    };
  } catch {
    return undefined;
  }
}
