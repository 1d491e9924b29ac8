/** The messages between InferencePool and its threads (inferenceThread.ts). */

/** What the caller needs to check a graph against its manifest. */
export interface GraphMetadata {
  inputNames: string[];
  outputNames: string[];
  /** Per input: its dimensions (a name where symbolic), or null when it is not a tensor. */
  inputShapes: Record<string, Array<number | string> | null>;
}

export type ThreadRequest =
  | { kind: 'open'; id: number; key: string; modelPath: string; intraOpThreads?: number }
  | {
      kind: 'run';
      id: number;
      key: string;
      inputName: string;
      input: Float32Array;
      dims: number[];
      fetches: string[];
    }
  | { kind: 'release'; id: number; key: string };

export type ThreadReply =
  | { kind: 'opened'; id: number; metadata: GraphMetadata }
  | {
      kind: 'ran';
      id: number;
      outputs: Record<string, { type: string; dims: number[]; data: Float32Array }>;
    }
  | { kind: 'released'; id: number }
  | { kind: 'failed'; id: number; message: string };
