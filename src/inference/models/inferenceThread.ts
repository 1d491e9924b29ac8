/**
 * The body of an inference thread (ADR 0121): onnxruntime-node's `session.run` is synchronous
 * native code, so it runs here, off the event loop that answers C-STORE, STOW-RS and /health.
 * The thread holds one onnxruntime session per opened graph and answers three requests: open
 * (with the graph's input/output metadata, so the caller checks them against the manifest),
 * run (inputs and outputs cross as transferred ArrayBuffers, not copies) and release.
 */
import { parentPort } from 'node:worker_threads';
import { InferenceSession, Tensor } from 'onnxruntime-node';
import type { ThreadReply, ThreadRequest, GraphMetadata } from './inferenceMessages.js';

const sessions = new Map<string, InferenceSession>();
const port = parentPort;
if (port === null) throw new Error('inferenceThread runs only as a worker thread');

port.on('message', (request: ThreadRequest) => {
  void answer(request).then(
    (reply) => {
      const transfer =
        reply.kind === 'ran' ? Object.values(reply.outputs).map((o) => o.data.buffer) : [];
      port.postMessage(reply, transfer as ArrayBuffer[]);
    },
    (error: unknown) => {
      const message = error instanceof Error ? error.message : String(error);
      port.postMessage({ kind: 'failed', id: request.id, message } satisfies ThreadReply);
    },
  );
});

async function answer(request: ThreadRequest): Promise<ThreadReply> {
  switch (request.kind) {
    case 'open': {
      let session = sessions.get(request.key);
      if (session === undefined) {
        session = await InferenceSession.create(request.modelPath, {
          executionProviders: ['cpu'],
          graphOptimizationLevel: 'all',
          // Pool threads that spin while waiting burn a core the node needs for ingest
          // (ADR 0026): 512² pipeline CPU 74 → 55 core-ms/image without spinning.
          extra: { session: { intra_op: { allow_spinning: '0' } } },
          ...(request.intraOpThreads === undefined
            ? {}
            : { intraOpNumThreads: request.intraOpThreads }),
        });
        sessions.set(request.key, session);
      }
      return { kind: 'opened', id: request.id, metadata: metadataOf(session) };
    }
    case 'run': {
      const session = sessions.get(request.key);
      if (session === undefined) throw new Error(`no open session ${request.key}`);
      const feeds = {
        [request.inputName]: new Tensor('float32', request.input, request.dims),
      };
      const results = await session.run(feeds, request.fetches);
      const outputs: Extract<ThreadReply, { kind: 'ran' }>['outputs'] = {};
      for (const name of request.fetches) {
        const tensor = results[name]!;
        const data = tensor.data;
        if (!(data instanceof Float32Array)) {
          outputs[name] = { type: tensor.type, dims: [...tensor.dims], data: new Float32Array(0) };
          continue;
        }
        // onnxruntime may hand back a view of a larger buffer; transfer an exact copy then.
        const own =
          data.byteOffset === 0 && data.byteLength === data.buffer.byteLength
            ? data
            : data.slice();
        outputs[name] = { type: tensor.type, dims: [...tensor.dims], data: own };
      }
      return { kind: 'ran', id: request.id, outputs };
    }
    case 'release': {
      const session = sessions.get(request.key);
      sessions.delete(request.key);
      await session?.release();
      return { kind: 'released', id: request.id };
    }
  }
}

function metadataOf(session: InferenceSession): GraphMetadata {
  return {
    inputNames: [...session.inputNames],
    outputNames: [...session.outputNames],
    inputShapes: Object.fromEntries(
      session.inputMetadata.map((m) => [
        m.name,
        m.isTensor ? [...m.shape] : null,
      ]),
    ),
  };
}
