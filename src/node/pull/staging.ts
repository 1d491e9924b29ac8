/**
 * Retrieved instances wait in a staging folder until the whole retrieval succeeded; only then
 * are they committed to their destination (a plain folder by one rename per study, or the
 * InstanceStore), so a peer that fails half-way leaves nothing behind (ADR 0107). Each
 * instance is checked on arrival: readable DICOM, the identifying UIDs present and valid, and
 * in the study that was asked for. The bytes are written exactly as received.
 */
import { mkdir, mkdtemp, open, readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { RadiolensError, isValidUid } from '../../foundation/core/index.js';
import { parseDicom } from '../../foundation/dicom/index.js';
import type { InstanceStore } from '../store/index.js';

export interface StagedInstance {
  readonly studyInstanceUid: string;
  readonly sopInstanceUid: string;
  readonly sopClassUid: string;
  readonly file: string;
}

/** Where the retrieved instances end up. */
export type PullDestination =
  | { readonly kind: 'folder'; readonly dir: string }
  | { readonly kind: 'store'; readonly store: InstanceStore };

export class RetrievalStaging {
  private readonly instances = new Map<string, StagedInstance>();

  private constructor(readonly dir: string) {}

  /** A fresh staging folder inside parentDir (on the destination's file system). */
  static async create(parentDir: string): Promise<RetrievalStaging> {
    await mkdir(parentDir, { recursive: true });
    return new RetrievalStaging(await mkdtemp(join(parentDir, '.pull-staging-')));
  }

  /**
   * Keeps one retrieved Part 10 file. Throws (and keeps nothing) when it is not usable DICOM
   * or not part of the expected study.
   */
  async add(bytes: Uint8Array, source: string, expectedStudyUid: string): Promise<StagedInstance> {
    const parsed = parseDicom(bytes, source);
    for (const [name, uid] of [
      ['Study Instance UID', parsed.studyInstanceUid],
      ['SOP Instance UID', parsed.sopInstanceUid],
      ['SOP Class UID', parsed.sopClassUid],
    ] as const) {
      if (!isValidUid(uid)) {
        throw new RadiolensError('E_BAD_INPUT', `${source} has no valid ${name}`);
      }
    }
    if (parsed.studyInstanceUid !== expectedStudyUid) {
      throw new RadiolensError('E_BAD_INPUT', `${source} belongs to another study than asked for`);
    }
    const studyDir = join(this.dir, parsed.studyInstanceUid);
    await mkdir(studyDir, { recursive: true });
    const file = join(studyDir, `${parsed.sopInstanceUid}.dcm`);
    const handle = await open(file, 'w');
    try {
      await handle.writeFile(bytes);
      await handle.sync();
    } finally {
      await handle.close();
    }
    const staged: StagedInstance = {
      studyInstanceUid: parsed.studyInstanceUid,
      sopInstanceUid: parsed.sopInstanceUid,
      sopClassUid: parsed.sopClassUid,
      file,
    };
    this.instances.set(file, staged);
    return staged;
  }

  count(studyInstanceUid: string): number {
    let n = 0;
    for (const staged of this.instances.values()) {
      if (staged.studyInstanceUid === studyInstanceUid) n++;
    }
    return n;
  }

  /**
   * Moves the staged studies to the destination; returns, per study, the files analysis
   * should read. Folder: <dir>/<StudyInstanceUID>/<SOPInstanceUID>.dcm, a study pulled
   * again replaces the earlier copy as a whole. Store: storeInstance per file, which
   * resolves only once bytes and index are durable.
   */
  async commit(destination: PullDestination, source: string): Promise<Map<string, string[]>> {
    const byStudy = new Map<string, StagedInstance[]>();
    for (const staged of this.instances.values()) {
      const list = byStudy.get(staged.studyInstanceUid) ?? [];
      list.push(staged);
      byStudy.set(staged.studyInstanceUid, list);
    }
    const result = new Map<string, string[]>();
    for (const [studyUid, staged] of byStudy) {
      if (destination.kind === 'folder') {
        result.set(studyUid, await this.commitStudyToFolder(destination.dir, studyUid, staged));
      } else {
        const files: string[] = [];
        for (const instance of staged) {
          const stored = await destination.store.storeInstance(await readFile(instance.file), {
            source,
            expectedSopInstanceUid: instance.sopInstanceUid,
            expectedSopClassUid: instance.sopClassUid,
          });
          files.push(join(destination.store.dataDir, stored.instance.path));
        }
        result.set(studyUid, files);
      }
    }
    return result;
  }

  private async commitStudyToFolder(
    dir: string,
    studyUid: string,
    staged: readonly StagedInstance[],
  ): Promise<string[]> {
    await mkdir(dir, { recursive: true });
    const target = join(dir, studyUid);
    const previous = join(this.dir, `previous-${studyUid}`);
    // rename() cannot replace a non-empty folder: move the old copy aside, then swap.
    await rename(target, previous).catch((error: NodeJS.ErrnoException) => {
      if (error.code !== 'ENOENT') throw error;
    });
    await rename(join(this.dir, studyUid), target);
    return staged.map((s) => join(target, `${s.sopInstanceUid}.dcm`));
  }

  /** Removes the staging folder and whatever is still in it. */
  async discard(): Promise<void> {
    await rm(this.dir, { recursive: true, force: true });
  }
}
