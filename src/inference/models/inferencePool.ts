/**
 * Model sessions in worker threads (ADR 0121). onnxruntime-node runs a graph synchronously on
 * the thread that calls it; on the main thread a 20 ms chest model, or a CT model taking
 * seconds, would stall the DICOM listener, STOW-RS and /health for that long. The pool keeps
 * every session in its threads; the main thread only prepares inputs and reads outputs.
 *
 * One process-wide pool (`sharedInferencePool`) serves analyze, validate, the OOD and
 * faithfulness commands and the node's workers alike. Threads start on first use, a session
 * is opened on a thread the first time a run lands there, a run goes to the thread with the
 * fewest runs in flight, and idle threads do not keep the process alive. A thread that dies
 * (a native crash) fails its runs in flight with E_MODEL_RUNTIME; the next run starts a new
 * thread and reopens the session there.
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { RadiolensError } from '../../foundation/core/index.js';
import type { GraphMetadata, ThreadReply, ThreadRequest } from './inferenceMessages.js';

export interface InferencePoolOptions {
  /** Worker threads; default RADIOLENS_INFERENCE_THREADS, else 1 (ADR 0121). */
  threads?: number;
  /**
   * onnxruntime threads per operator for sessions opened here, unless a runner asks for its
   * own; default: onnxruntime's choice (every core). The node leaves one core to ingest.
   */
  intraOpThreads?: number;
}

interface OpenSpec {
  modelPath: string;
  intraOpThreads?: number;
}

type RequestBody =
  | Omit<Extract<ThreadRequest, { kind: 'open' }>, 'id'>
  | Omit<Extract<ThreadRequest, { kind: 'run' }>, 'id'>
  | Omit<Extract<ThreadRequest, { kind: 'release' }>, 'id'>;

interface Pending {
  resolve: (reply: ThreadReply) => void;
  reject: (error: Error) => void;
}

class InferenceThread {
  readonly worker: Worker;
  readonly pending = new Map<number, Pending>();
  /** Session keys opened on this thread (or being opened). */
  readonly open = new Map<string, Promise<GraphMetadata>>();
  private nextId = 1;
  alive = true;

  constructor(onExit: (thread: InferenceThread, reason: string) => void) {
    this.worker = startThread();
    this.worker.unref();
    this.worker.on('message', (reply: ThreadReply) => {
      const waiting = this.pending.get(reply.id);
      if (waiting === undefined) return;
      this.pending.delete(reply.id);
      this.updateRef();
      waiting.resolve(reply);
    });
    this.worker.on('error', (error) => onExit(this, error.message));
    this.worker.on('exit', (code) => onExit(this, `exit code ${code}`));
  }

  request(body: RequestBody, transfer: ArrayBuffer[] = []): Promise<ThreadReply> {
    const id = this.nextId++;
    return new Promise<ThreadReply>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.updateRef();
      this.worker.postMessage({ ...body, id } as ThreadRequest, transfer);
    });
  }

  /** Fail every request in flight; the thread is gone. */
  fail(reason: string): void {
    this.alive = false;
    for (const waiting of this.pending.values()) {
      waiting.reject(new Error(`the inference thread stopped (${reason})`));
    }
    this.pending.clear();
  }

  /** A thread with work in flight keeps the process alive; an idle one does not. */
  private updateRef(): void {
    if (this.pending.size > 0) this.worker.ref();
    else this.worker.unref();
  }
}

export class InferencePool {
  readonly size: number;
  readonly intraOpThreads: number | undefined;
  private readonly threads: InferenceThread[] = [];
  private readonly specs = new Map<string, OpenSpec>();
  private nextKey = 1;

  constructor(options: InferencePoolOptions = {}) {
    this.size = options.threads ?? threadsFromEnvironment();
    this.intraOpThreads = options.intraOpThreads;
    if (!Number.isInteger(this.size) || this.size < 1) {
      throw new RadiolensError(
        'E_BAD_INPUT',
        `inference threads must be a positive integer, not ${this.size} — set RADIOLENS_INFERENCE_THREADS to 1 … ${availableParallelism()}`,
      );
    }
  }

  /** Open a graph; its metadata comes back so the caller can check it against the manifest. */
  async open(spec: OpenSpec): Promise<{ key: string; metadata: GraphMetadata }> {
    const key = `s${this.nextKey++}`;
    const intraOpThreads = spec.intraOpThreads ?? this.intraOpThreads;
    this.specs.set(key, {
      modelPath: spec.modelPath,
      ...(intraOpThreads === undefined ? {} : { intraOpThreads }),
    });
    try {
      const metadata = await this.ensureOpen(this.pickThread(), key);
      return { key, metadata };
    } catch (error) {
      this.specs.delete(key);
      throw error;
    }
  }

  async run(
    key: string,
    inputName: string,
    input: Float32Array,
    dims: number[],
    fetches: string[],
  ): Promise<Extract<ThreadReply, { kind: 'ran' }>['outputs']> {
    const thread = this.pickThread();
    await this.ensureOpen(thread, key);
    // Transfer the input's buffer when it is exactly the input (no copy); else copy once.
    const own =
      input.byteOffset === 0 && input.byteLength === input.buffer.byteLength
        ? input
        : input.slice();
    const reply = await thread.request({ kind: 'run', key, inputName, input: own, dims, fetches }, [
      own.buffer as ArrayBuffer,
    ]);
    if (reply.kind === 'failed') throw new Error(reply.message);
    if (reply.kind !== 'ran') throw new Error(`unexpected reply ${reply.kind} to run`);
    return reply.outputs;
  }

  async release(key: string): Promise<void> {
    this.specs.delete(key);
    await Promise.all(
      this.threads
        .filter((thread) => thread.alive && thread.open.has(key))
        .map(async (thread) => {
          thread.open.delete(key);
          await thread.request({ kind: 'release', key });
        }),
    );
  }

  /** Stop every thread (tests and a process that wants to exit at once). */
  async close(): Promise<void> {
    const threads = this.threads.splice(0);
    await Promise.all(threads.map((t) => t.worker.terminate()));
  }

  private ensureOpen(thread: InferenceThread, key: string): Promise<GraphMetadata> {
    let opened = thread.open.get(key);
    if (opened === undefined) {
      const spec = this.specs.get(key);
      if (spec === undefined) {
        return Promise.reject(new Error(`session ${key} was released`));
      }
      opened = thread
        .request({
          kind: 'open',
          key,
          modelPath: spec.modelPath,
          ...(spec.intraOpThreads === undefined ? {} : { intraOpThreads: spec.intraOpThreads }),
        })
        .then((reply) => {
          if (reply.kind === 'failed') throw new Error(reply.message);
          if (reply.kind !== 'opened') throw new Error(`unexpected reply ${reply.kind} to open`);
          return reply.metadata;
        });
      // A failed open is not remembered: the next run tries again.
      opened.catch(() => thread.open.delete(key));
      thread.open.set(key, opened);
    }
    return opened;
  }

  /** The thread with the fewest runs in flight; a new one while the pool is not full. */
  private pickThread(): InferenceThread {
    const idle = this.threads.find((t) => t.pending.size === 0);
    if (idle !== undefined) return idle;
    if (this.threads.length < this.size) {
      const thread = new InferenceThread((t, reason) => this.onThreadExit(t, reason));
      this.threads.push(thread);
      return thread;
    }
    return this.threads.reduce((a, b) => (b.pending.size < a.pending.size ? b : a));
  }

  private onThreadExit(thread: InferenceThread, reason: string): void {
    if (!thread.alive) return;
    thread.fail(reason);
    const index = this.threads.indexOf(thread);
    if (index >= 0) this.threads.splice(index, 1);
  }
}

/**
 * Compiled, the thread is plain inferenceThread.js. From source under tsx (development and
 * `node --import tsx --test`), a worker does not inherit tsx's loader, so a small bootstrap
 * registers it before importing the TypeScript.
 */
function startThread(): Worker {
  if (!import.meta.url.endsWith('.ts')) {
    return new Worker(new URL('./inferenceThread.js', import.meta.url));
  }
  const entry = new URL('./inferenceThread.ts', import.meta.url).href;
  const bootstrap = `import('tsx/esm/api').then((tsx) => { tsx.register(); return import(${JSON.stringify(entry)}); })`;
  return new Worker(bootstrap, { eval: true });
}

function threadsFromEnvironment(): number {
  const value = process.env['RADIOLENS_INFERENCE_THREADS'];
  return value === undefined || value === '' ? 1 : Number(value);
}

let shared: InferencePool | undefined;

/** The process-wide pool every model runner uses unless given its own. */
export function sharedInferencePool(): InferencePool {
  shared ??= new InferencePool();
  return shared;
}
