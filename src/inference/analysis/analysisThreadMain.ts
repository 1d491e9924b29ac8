/**
 * The body of an analysis thread (ADR 0128): one registry and one set of model sessions for
 * the thread's life; each request is one analyzeFiles call, answered with its outcome.
 */
import { setPriority } from 'node:os';
import { parentPort, workerData } from 'node:worker_threads';
import { isRadiolensError } from '../../foundation/core/index.js';
import { InferencePool, ModelRegistry } from '../models/index.js';
import { analyzeFiles } from './analyze.js';
import type { AnalysisThreadOptions, AnalyzeReply, AnalyzeRequest } from './analysisThread.js';
import { ModelSessions } from './modelSessions.js';

const port = parentPort;
if (port === null) throw new Error('analysisThreadMain runs only as a worker thread');
const options = workerData as AnalysisThreadOptions;
if (options.niceness !== undefined && options.niceness !== 0) {
  try {
    // pid 0 is the calling thread on Linux (niceness is per thread), before any thread of the
    // inference pool is started, so they inherit it.
    setPriority(0, options.niceness);
  } catch {
    // Not permitted or not supported here: the analysis runs at the process' priority.
  }
}
const registry = new ModelRegistry(options.registryRoot);
const pool = new InferencePool(
  options.intraOpThreads === undefined ? {} : { intraOpThreads: options.intraOpThreads },
);
const sessions = new ModelSessions({ pool });

port.on('message', (request: AnalyzeRequest) => {
  void answer(request).then((reply) => {
    try {
      port.postMessage(reply);
    } catch (error) {
      // An outcome that cannot be copied to the parent must still answer the request.
      port.postMessage({
        id: request.id,
        kind: 'failed',
        code: 'E_MODEL_RUNTIME',
        message: `the analysis outcome could not leave its thread: ${error instanceof Error ? error.message : String(error)}`,
      } satisfies AnalyzeReply);
    }
  });
});

async function answer(request: AnalyzeRequest): Promise<AnalyzeReply> {
  try {
    const run = await analyzeFiles([...request.files], {
      registry,
      sessions,
      outDir: request.options.outDir,
      ...(request.options.model === undefined ? {} : { model: request.options.model }),
      ...(request.options.patientIdentifierSystem === undefined
        ? {}
        : { patientIdentifierSystem: request.options.patientIdentifierSystem }),
    });
    return { id: request.id, kind: 'done', run: plainCopy(run) };
  } catch (error) {
    const coded = isRadiolensError(error);
    const message = error instanceof Error ? error.message : String(error);
    return {
      id: request.id,
      kind: 'failed',
      code: coded ? error.code : null,
      // RadiolensError's message starts with its code; the parent's new error adds it again.
      message: coded ? message.replace(`${error.code}: `, '') : message,
    };
  }
}

/**
 * The outcome as plain data that can cross to the parent: dcmjs gives naturalized datasets as
 * Proxies (tag accessors), which the structured clone refuses. Binary data, dates and
 * collections are kept as they are (the clone copies them).
 */
function plainCopy<T>(value: T): T {
  if (typeof value !== 'object' || value === null) return value;
  if (
    value instanceof Date ||
    value instanceof ArrayBuffer ||
    ArrayBuffer.isView(value) ||
    value instanceof Map ||
    value instanceof Set
  ) {
    return value;
  }
  if (Array.isArray(value)) return value.map((each: unknown) => plainCopy(each)) as T;
  const copy: Record<string, unknown> = {};
  for (const [key, each] of Object.entries(value)) copy[key] = plainCopy(each);
  return copy as T;
}
