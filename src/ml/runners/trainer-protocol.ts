import type { SerializedError } from '../../core/errors.ts';
import type { BackendChoice } from '../backends/backend.ts';
import type { ModelName } from '../models/index.ts';
import type { ClientJob } from '../train/client-train.ts';

/** Messages between the runner and its worker threads: plain data, shared or transferred buffers. */
export interface WorkerInit {
  type: 'init';
  backend: BackendChoice;
  model: { name: ModelName; classes: number; inputShape: [number, number, number] };
  /**
   * Stamped training images, headA, headB and the forget set, in SharedArrayBuffers: read by every worker, never
   * copied.
   */
  images: Uint8Array;
  headA: Uint8Array;
  headB: Uint8Array;
  forget: Uint8Array;
  shape: { name: string; height: number; width: number; channels: number };
}

/** A client job as sent to a worker: the job itself, with its weights flattened for the transfer. */
export type WorkerTrain = Omit<ClientJob, 'weights' | 'head'> & {
  type: 'train';
  id: number;
  /** The round's global weights, flattened, in a SharedArrayBuffer shared by all jobs of the round. */
  weights: Float32Array;
  head?: Float32Array;
};

export type WorkerRequest = WorkerInit | WorkerTrain;

export type WorkerReply =
  | { type: 'ready'; backend: string }
  | { type: 'progress'; id: number; step: number; total: number }
  | {
      type: 'done';
      id: number;
      client: number;
      weights: Float32Array;
      head?: Float32Array;
      loss: number;
      steps: number;
      samples: number;
      ms: number;
    }
  | { type: 'error'; id?: number; error: SerializedError };
