/**
 * SideThread: one worker thread that hashes and fsyncs for the store while the main thread
 * does its own blocking step (writing the object, committing the index row), joined with
 * Atomics.wait. The store's acknowledgement path is a short sequence of blocking calls (ADR
 * 0117); a promise from the thread pool in the middle of it costs an event-loop turn, 0.1 to
 * 0.25 ms each under load, as much as the hash itself. A job is started, the main thread
 * works, then `join()` returns at once if the job is done, or blocks until it is.
 *
 * If the worker cannot start or dies, jobs run on the calling thread instead: slower, never
 * wrong.
 */
import { createHash } from 'node:crypto';
import { Worker } from 'node:worker_threads';
import { fsyncPath } from './objectFiles.js';

/** A job's state word: 0 running, 1 done, 2 failed (the message follows in `text`). */
const RUNNING = 0;
const DONE = 1;
const FAILED = 2;
/** The longest a join waits for the worker before doing the job itself. */
const JOIN_TIMEOUT_MS = 30_000;
const TEXT_BYTES = 512;

// Plain CommonJS, evaluated by the worker: a file beside this one would not exist when the
// sources run through tsx. It mirrors the fallbacks below.
const WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads');
const { createHash } = require('node:crypto');
const { closeSync, fsyncSync, openSync } = require('node:fs');
parentPort.on('message', ({ kind, bytes, path, signal }) => {
  const state = new Int32Array(signal, 0, 1);
  const text = new Uint8Array(signal, 4);
  let result = DONE_VALUE;
  try {
    if (kind === 'sha256') {
      text.set(Buffer.from(createHash('sha256').update(bytes).digest('hex'), 'latin1'));
    } else {
      const fd = openSync(path, 'r');
      try { fsyncSync(fd); } finally { closeSync(fd); }
    }
  } catch (error) {
    text.set(Buffer.from(String(error && error.message).slice(0, TEXT_LIMIT), 'utf8').subarray(0, TEXT_LIMIT));
    result = FAILED_VALUE;
  }
  Atomics.store(state, 0, result);
  Atomics.notify(state, 0);
});
`
  .replace('DONE_VALUE', String(DONE))
  .replace('FAILED_VALUE', String(FAILED))
  .replaceAll('TEXT_LIMIT', String(TEXT_BYTES - 1));

export interface SideJob<T> {
  /** The job's result; blocks until it is there. Throws the job's error. */
  join(): T;
}

function readText(text: Uint8Array): string {
  const end = text.indexOf(0);
  return Buffer.from(text.subarray(0, end < 0 ? text.length : end)).toString('utf8');
}

export class SideThread {
  private static instance: SideThread | undefined;
  private worker: Worker | undefined;

  private constructor() {
    try {
      const worker = new Worker(WORKER_SOURCE, { eval: true });
      worker.unref(); // never keeps a process alive
      worker.on('error', () => (this.worker = undefined));
      worker.on('exit', () => (this.worker = undefined));
      this.worker = worker;
    } catch {
      this.worker = undefined;
    }
  }

  /** The process's side thread, started on first use. */
  static shared(): SideThread {
    SideThread.instance ??= new SideThread();
    return SideThread.instance;
  }

  /** sha256 of `bytes`, lower-case hex. Leave the bytes unchanged until join(). */
  startSha256(bytes: Uint8Array): SideJob<string> {
    const local = (): string => createHash('sha256').update(bytes).digest('hex');
    return this.start(
      (signal) => {
        const shared = new Uint8Array(new SharedArrayBuffer(bytes.byteLength));
        shared.set(bytes);
        return { kind: 'sha256', bytes: shared, signal };
      },
      (text) => readText(text),
      local,
    );
  }

  /** fsync of a file or folder. */
  startFsync(path: string): SideJob<void> {
    return this.start(
      (signal) => ({ kind: 'fsync', path, signal }),
      () => undefined,
      () => fsyncPath(path),
    );
  }

  private start<T>(
    message: (signal: SharedArrayBuffer) => object,
    result: (text: Uint8Array) => T,
    local: () => T,
  ): SideJob<T> {
    const worker = this.worker;
    if (worker === undefined) return { join: local };
    const signal = new SharedArrayBuffer(4 + TEXT_BYTES);
    const state = new Int32Array(signal, 0, 1);
    const text = new Uint8Array(signal, 4);
    try {
      worker.postMessage(message(signal));
    } catch {
      return { join: local };
    }
    return {
      join: () => {
        if (Atomics.wait(state, 0, RUNNING, JOIN_TIMEOUT_MS) === 'timed-out') {
          // A stuck worker must not stall ingest: give it up and do the job here.
          void this.worker?.terminate();
          this.worker = undefined;
          return local();
        }
        if (Atomics.load(state, 0) === FAILED) throw new Error(readText(text));
        return result(text);
      },
    };
  }
}
