import {
  createModelRunner,
  type InferencePool,
  type ModelPackage,
  type ModelRunner,
} from '../models/index.js';
import { loadCamHead, type CamHead } from '../explain/index.js';
import { loadPackageOodStatistics, type OodStatistics } from '../ood/index.js';
import { LungSegmenter } from '../lungField/index.js';

export interface ModelSession {
  runner: ModelRunner;
  /** The GAP+linear head for exact Grad-CAM, when the manifest says the model has one. */
  camHead: CamHead | null;
  /** The out-of-distribution statistics the package ships, if any (ADR 0080). */
  ood: OodStatistics | null;
}

/**
 * One loaded inference session per model version for the whole run: creating an
 * onnxruntime session costs far more than one inference, so studies share it.
 */
export class ModelSessions {
  private readonly sessions = new Map<string, Promise<ModelSession>>();
  private readonly segmenters = new Map<string, Promise<LungSegmenter>>();

  /** `pool`: the inference threads to hold the sessions; default the process-wide pool. */
  constructor(private readonly options: { pool?: InferencePool } = {}) {}

  get(pkg: ModelPackage): Promise<ModelSession> {
    const key = `${pkg.manifest.id}@${pkg.manifest.version}:${pkg.manifestSha256}`;
    let session = this.sessions.get(key);
    if (!session) {
      session = (async () => ({
        runner: await createModelRunner(
          pkg,
          this.options.pool === undefined ? {} : { pool: this.options.pool },
        ),
        camHead: pkg.manifest.explanation.method === 'cam' ? await loadCamHead(pkg) : null,
        ood: await loadPackageOodStatistics(pkg),
      }))();
      this.sessions.set(key, session);
    }
    return session;
  }

  /** The lung segmentation session of a segmentation package (inference/lungField), shared likewise. */
  segmenter(pkg: ModelPackage): Promise<LungSegmenter> {
    const key = `${pkg.manifest.id}@${pkg.manifest.version}:${pkg.manifestSha256}`;
    let segmenter = this.segmenters.get(key);
    if (!segmenter) {
      segmenter = LungSegmenter.open(
        pkg,
        this.options.pool === undefined ? {} : { pool: this.options.pool },
      );
      // A failed open is not remembered: the next study tries again and reports its own error.
      segmenter.catch(() => this.segmenters.delete(key));
      this.segmenters.set(key, segmenter);
    }
    return segmenter;
  }

  async dispose(): Promise<void> {
    for (const segmenter of this.segmenters.values()) {
      try {
        await (await segmenter).dispose();
      } catch {
        // Nothing to release.
      }
    }
    this.segmenters.clear();
    for (const session of this.sessions.values()) {
      try {
        await (await session).runner.dispose();
      } catch {
        // A session that failed to load has nothing to release.
      }
    }
    this.sessions.clear();
  }
}
