/**
 * A whole analysis — read, decode, model input, inference, heatmaps, SR/SC/PM/FHIR encoding —
 * in a worker thread of its own (ADR 0128), so that none of it runs on the event loop of the
 * process that answers C-STORE, STOW-RS and /health. ADR 0121 moved only `session.run` off
 * that loop; the rest of an analysis is hundreds of milliseconds of synchronous work per large
 * image, and it still held acknowledgements back (bench:responsive, busy p99 3.7× idle).
 *
 * The thread opens its own registry on the same folder and its own model sessions (with their
 * own inference thread), so nothing but file paths and the typed outcome cross between
 * threads. Analyses sent while one runs interleave in the thread as they would on any event
 * loop. A thread that dies fails what it had in flight with E_MODEL_RUNTIME; the next
 * analysis starts a new one.
 */
import { Worker } from 'node:worker_threads';
import { RadiolensError, type ErrorCode } from '../../foundation/core/index.js';
import type { AnalysisRun } from './types.js';

/** What the thread needs to open its registry and sessions (sent once, as workerData). */
export interface AnalysisThreadOptions {
  /** The model registry's folder; the thread opens its own ModelRegistry on it. */
  readonly registryRoot: string;
  /** onnxruntime's threads per operator in the thread's sessions (default: onnxruntime's). */
  readonly intraOpThreads?: number;
  /**
   * The thread's scheduling niceness (0–19; default 0, unchanged). On Linux niceness is per
   * thread and inherited by the threads a thread starts, so the node gives its analysis
   * thread — and with it the model's inference and onnxruntime threads — a higher one than its
   * event loop: when both want the CPU, the C-STORE acknowledgement wins; when ingest is idle,
   * the analysis still has every core.
   */
  readonly niceness?: number;
}

/** The analyzeFiles options that can cross to the thread (no callbacks, no live objects). */
export interface ThreadedAnalyzeOptions {
  readonly outDir: string;
  readonly model?: { readonly id: string; readonly version?: string };
  readonly patientIdentifierSystem?: string;
}

/** Messages between AnalysisThread and its thread body (analysisThreadMain.ts). */
export interface AnalyzeRequest {
  readonly id: number;
  readonly files: readonly string[];
  readonly options: ThreadedAnalyzeOptions;
}
export type AnalyzeReply =
  | { readonly id: number; readonly kind: 'done'; readonly run: AnalysisRun }
  | {
      readonly id: number;
      readonly kind: 'failed';
      readonly code: ErrorCode | null;
      readonly message: string;
    };

interface Pending {
  readonly resolve: (run: AnalysisRun) => void;
  readonly reject: (error: Error) => void;
}

export class AnalysisThread {
  private worker: Worker | undefined;
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();

  constructor(private readonly options: AnalysisThreadOptions) {}

  /** analyzeFiles(files, …) with this thread's registry and sessions. */
  analyze(files: readonly string[], options: ThreadedAnalyzeOptions): Promise<AnalysisRun> {
    const worker = this.thread();
    const id = this.nextId++;
    return new Promise<AnalysisRun>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      worker.ref();
      worker.postMessage({ id, files, options } satisfies AnalyzeRequest);
    });
  }

  /** Stops the thread; analyses in flight fail. */
  async close(): Promise<void> {
    const worker = this.worker;
    this.worker = undefined;
    if (worker !== undefined) await worker.terminate();
    this.failAll('the analysis thread was closed');
  }

  private thread(): Worker {
    if (this.worker !== undefined) return this.worker;
    const worker = startThread(this.options);
    worker.on('message', (reply: AnalyzeReply) => {
      const waiting = this.pending.get(reply.id);
      if (waiting === undefined) return;
      this.pending.delete(reply.id);
      // An idle thread must not keep a finished command alive.
      if (this.pending.size === 0) worker.unref();
      if (reply.kind === 'done') waiting.resolve(reply.run);
      else {
        waiting.reject(
          reply.code === null
            ? new Error(reply.message)
            : new RadiolensError(reply.code, reply.message),
        );
      }
    });
    const stopped = (why: string): void => {
      if (this.worker !== worker) return;
      this.worker = undefined;
      this.failAll(why);
    };
    worker.on('error', (error) => stopped(`the analysis thread failed: ${error.message}`));
    worker.on('exit', (code) => stopped(`the analysis thread stopped (exit code ${code})`));
    worker.unref();
    this.worker = worker;
    return worker;
  }

  private failAll(why: string): void {
    const waiting = [...this.pending.values()];
    this.pending.clear();
    for (const each of waiting) {
      each.reject(new RadiolensError('E_MODEL_RUNTIME', `${why}; the analysis did not finish`));
    }
  }
}

/** Compiled, the body is plain JavaScript; under tsx a bootstrap registers tsx first (ADR 0121). */
function startThread(workerData: AnalysisThreadOptions): Worker {
  if (!import.meta.url.endsWith('.ts')) {
    return new Worker(new URL('./analysisThreadMain.js', import.meta.url), { workerData });
  }
  const entry = new URL('./analysisThreadMain.ts', import.meta.url).href;
  const bootstrap = `import('tsx/esm/api').then((tsx) => { tsx.register(); return import(${JSON.stringify(entry)}); })`;
  return new Worker(bootstrap, { eval: true, workerData });
}
