import { randomBytes } from 'node:crypto';
import { cp, mkdir, readFile, readdir, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { RadiolensError } from '../../foundation/core/index.js';
import { checkIntendedUse, type FrameInfo, type IntendedUseDataset } from './intendedUse.js';
import { parseManifest, type ModelManifest } from './manifest.js';
import { loadModelPackage, MANIFEST_FILE, type ModelPackage } from './package.js';
import { compareSemver, isPrerelease, isSemver } from './semver.js';
import {
  readActiveState,
  withPromotion,
  withRollback,
  writeActiveState,
  type ActiveVersionState,
} from './activeVersions.js';

/** One package found in the registry; its files are verified only when resolved. */
export interface RegistryEntry {
  id: string;
  version: string;
  dir: string;
  manifest: ModelManifest;
}

/** The version of a model that runs for patients, and why it is that one (ADR 0035). */
export interface ActiveVersion {
  id: string;
  version: string;
  /** 'promoted': named by active.json; 'newest-release': never promoted, newest release runs. */
  source: 'promoted' | 'newest-release';
  state: ActiveVersionState | null;
}

/** Staging folders live inside the registry so the final rename never crosses file systems. */
const STAGING_PREFIX = '.staging-';

/**
 * A folder of model packages laid out as <root>/<model-id>/<version>/ (ADR 0030). Listing
 * reads manifests only; resolving verifies every file hash, so a package is checked each
 * time it is about to be run.
 */
export interface ModelRegistryOptions {
  /**
   * How a package folder is copied into staging. Default: fs.cp. A seam for copies that can
   * fail half-way (network shares) — and for the test that proves a bad copy is never installed.
   */
  copyFolder?: (from: string, to: string) => Promise<void>;
}

const defaultCopy = (from: string, to: string): Promise<void> =>
  cp(from, to, { recursive: true, errorOnExist: true, force: false });

export class ModelRegistry {
  private readonly copyFolder: (from: string, to: string) => Promise<void>;
  /** Set only on a view from forOneRun(): verified packages by `id@version` asked for. */
  private remembered: Map<string, Promise<ModelPackage>> | undefined;

  constructor(
    readonly root: string,
    options: ModelRegistryOptions = {},
  ) {
    this.copyFolder = options.copyFolder ?? defaultCopy;
  }

  /**
   * Every well-formed package, sorted by id then semver. Folders whose manifest is invalid or
   * does not match its place (<id>/<version>) are left out here; `resolve` names their problem.
   */
  async list(): Promise<RegistryEntry[]> {
    const entries: RegistryEntry[] = [];
    for (const id of await subfolders(this.root)) {
      for (const version of await subfolders(join(this.root, id))) {
        const dir = join(this.root, id, version);
        try {
          const manifest = await readManifest(dir);
          if (manifest.id === id && manifest.version === version) {
            entries.push({ id, version, dir, manifest });
          }
        } catch {
          // Broken packages must not hide the good ones; resolve() reports them by name.
        }
      }
    }
    return entries.sort((a, b) =>
      a.id === b.id ? compareSemver(a.version, b.version) : a.id < b.id ? -1 : 1,
    );
  }

  /**
   * A view of this registry for one analysis run: each package is read and hashed once, the
   * first time the run resolves it, instead of for every study (findForImage resolves through
   * the view as well). A failed resolution is not remembered, so the next study retries it and
   * reports its own error. Make a new view per run: a view never sees a package change.
   */
  forOneRun(): ModelRegistry {
    const view = new ModelRegistry(this.root, { copyFolder: this.copyFolder });
    view.remembered = new Map();
    return view;
  }

  /** The verified package for id at version, or at its active version when none is given. */
  async resolve(id: string, version?: string): Promise<ModelPackage> {
    const remembered = this.remembered;
    if (remembered === undefined) return this.resolveVerified(id, version);
    const key = `${id}@${version ?? ''}`;
    let pkg = remembered.get(key);
    if (pkg === undefined) {
      pkg = this.resolveVerified(id, version);
      pkg.catch(() => remembered.delete(key));
      remembered.set(key, pkg);
    }
    return pkg;
  }

  private async resolveVerified(id: string, version?: string): Promise<ModelPackage> {
    const chosen = version ?? (await this.activeVersion(id)).version;
    const dir = join(this.root, id, chosen);
    if (!isSemver(chosen) || !(await isDirectory(dir))) {
      throw new RadiolensError(
        'E_MODEL_NOT_FOUND',
        `no model ${id}@${chosen} in the registry ${this.root}`,
        { subject: `${id}@${chosen}` },
      );
    }
    const pkg = await loadModelPackage(dir);
    assertPlacement(pkg.manifest, id, chosen, dir);
    return pkg;
  }

  /**
   * The active version of a model: the top of its active.json when it was ever promoted,
   * else its newest release ("latest" means the latest release; a pre-release is chosen only
   * if nothing else exists, npm's convention, so publishing 2.0.0-rc.1 never silently
   * replaces 1.x in production).
   */
  async activeVersion(id: string): Promise<ActiveVersion> {
    const versions = (await this.list()).filter((e) => e.id === id).map((e) => e.version);
    const state = await readActiveState(this.root, id);
    if (state !== null) {
      const version = state.stack[state.stack.length - 1]!;
      if (!versions.includes(version)) {
        throw new RadiolensError(
          'E_REGISTRY_STATE',
          `the active version of ${id} is ${version}, but no valid package ${id}@${version} is installed in ${this.root} — reinstall it, or "radiolens models rollback ${id}"`,
          { subject: id },
        );
      }
      return { id, version, source: 'promoted', state };
    }
    const releases = versions.filter((v) => !isPrerelease(v));
    const newest = (releases.length > 0 ? releases : versions).at(-1);
    if (newest === undefined) {
      throw new RadiolensError(
        'E_MODEL_NOT_FOUND',
        `no model ${id} in the registry ${this.root} — copy its package folder (<id>/<version>/ with manifest.json) into the registry, or pass --registry; "radiolens models list" shows what is installed`,
        { subject: id },
      );
    }
    return { id, version: newest, source: 'newest-release', state: null };
  }

  /**
   * The verified package for clinical use: the active version, or the version asked for only
   * if it is the active one. "A model that is not active never runs except in shadow mode":
   * routing and `analyze` go through here; evaluation (validate, the gate, monitoring) and
   * shadow runs use `resolve`.
   */
  async resolveActive(id: string, version?: string): Promise<ModelPackage> {
    const active = await this.activeVersion(id);
    if (version !== undefined && version !== active.version) {
      await this.resolve(id, version); // a version that is not installed says so first
      throw new RadiolensError(
        'E_MODEL_NOT_ACTIVE',
        `${id}@${version} is installed but not active (the active version is ${active.version}) — a version that is not active runs only in shadow mode or in evaluation; promote it with "radiolens models promote ${id}@${version} --test …"`,
        { subject: `${id}@${version}` },
      );
    }
    return this.resolve(id, active.version);
  }

  /**
   * Make `version` the active one (after the gate passed it) and record the transition.
   * Returns the new state. The package must be installed and intact.
   */
  async activate(
    id: string,
    version: string,
    record: { at: string; actor: string; evidence?: string },
  ): Promise<ActiveVersionState> {
    await this.resolve(id, version);
    const current = await this.activeVersion(id);
    if (current.version === version) {
      throw new RadiolensError('E_REGISTRY_STATE', `${id}@${version} is already the active version`, {
        subject: `${id}@${version}`,
      });
    }
    const state = withPromotion(current.state, id, current.version, { to: version, ...record });
    await writeActiveState(this.root, state);
    return state;
  }

  /** Return to the version that was active before the current one; the new state. */
  async rollback(id: string, record: { at: string; actor: string }): Promise<ActiveVersionState> {
    const current = await this.activeVersion(id);
    const state = withRollback(current.state, id, record.at, record.actor);
    await this.resolve(id, state.stack[state.stack.length - 1]!);
    await writeActiveState(this.root, state);
    return state;
  }

  /**
   * Install a package folder. The copy is made in a staging folder inside the registry,
   * verified there (so a bad copy or a package changed mid-copy is caught), then renamed into
   * place in one step: readers see either no package or the whole verified one. An existing
   * version is never overwritten — publish a new version instead; reinstalling the identical
   * package (same manifest hash) is a no-op.
   */
  async install(packageDir: string): Promise<ModelPackage> {
    const source = await loadModelPackage(packageDir);
    const { id, version } = source.manifest;
    const target = join(this.root, id, version);
    if (await isDirectory(target)) {
      const existing = await loadModelPackage(target);
      if (existing.manifestSha256 === source.manifestSha256) return existing;
      throw new RadiolensError(
        'E_MODEL_VERSION_EXISTS',
        `${id}@${version} is already installed in ${this.root} with a different manifest — give the new package a new version`,
        { subject: target },
      );
    }
    await mkdir(this.root, { recursive: true });
    const staging = join(this.root, `${STAGING_PREFIX}${randomBytes(6).toString('hex')}`);
    try {
      await this.copyFolder(packageDir, staging);
      const staged = await loadModelPackage(staging);
      if (staged.manifestSha256 !== source.manifestSha256) {
        throw new RadiolensError(
          'E_PACKAGE_TAMPERED',
          `${packageDir} changed while it was being installed — install it again`,
          { subject: packageDir },
        );
      }
      await mkdir(join(this.root, id), { recursive: true });
    } catch (error) {
      await rm(staging, { recursive: true, force: true });
      throw error;
    }
    try {
      await rename(staging, target);
    } catch (error) {
      await rm(staging, { recursive: true, force: true });
      if (!isAlreadyExists(error)) throw error;
      // Another installer won the race; accept it only if it installed the same package.
      const existing = await loadModelPackage(target);
      if (existing.manifestSha256 === source.manifestSha256) return existing;
      throw new RadiolensError(
        'E_MODEL_VERSION_EXISTS',
        `${id}@${version} was installed concurrently with a different manifest — give the new package a new version`,
        { subject: target },
      );
    }
    return { ...source, dir: target, modelPath: join(target, 'model.onnx') };
  }

  /**
   * The active version of each model whose intended use covers this image, verified and
   * ready to run. Models that do not match are left out (checkIntendedUse says why).
   */
  async findForImage(dataset: IntendedUseDataset, frameInfo?: FrameInfo): Promise<ModelPackage[]> {
    const entries = await this.list();
    const out: ModelPackage[] = [];
    for (const id of new Set(entries.map((entry) => entry.id))) {
      const active = await this.activeVersion(id);
      const entry = entries.find((e) => e.id === id && e.version === active.version)!;
      // A segmentation package serves other models (a lung field); it reports no findings.
      if (entry.manifest.task !== 'classification') continue;
      if (checkIntendedUse(entry.manifest, dataset, frameInfo).ok) {
        out.push(await this.resolve(entry.id, entry.version));
      }
    }
    return out;
  }
}

async function readManifest(dir: string): Promise<ModelManifest> {
  const path = join(dir, MANIFEST_FILE);
  return parseManifest(await readFile(path, 'utf8'), path);
}

function assertPlacement(manifest: ModelManifest, id: string, version: string, dir: string): void {
  if (manifest.id !== id || manifest.version !== version) {
    throw new RadiolensError(
      'E_MANIFEST_INVALID',
      `${dir} holds ${manifest.id}@${manifest.version}, not ${id}@${version} — a package must live at <id>/<version>/`,
      { subject: dir },
    );
  }
}

async function subfolders(dir: string): Promise<string[]> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return [];
  }
  const out: string[] = [];
  for (const name of names) {
    if (name.startsWith('.')) continue; // staging folders and editor litter
    if (await isDirectory(join(dir, name))) out.push(name);
  }
  return out;
}

async function isDirectory(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isDirectory();
  } catch {
    return false;
  }
}

function isAlreadyExists(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  return code === 'EEXIST' || code === 'ENOTEMPTY';
}
