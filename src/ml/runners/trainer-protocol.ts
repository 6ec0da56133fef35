import type { Head } from '../../artifacts/model.ts';
import type { SerializedError } from '../../core/errors.ts';
import type { BackendChoice } from '../backends/backend.ts';
import type { ModelName } from '../models/index.ts';
import type { EncodedJob, EncodedResult } from '../train/job.ts';

/** Messages between the runner and its trainer threads: plain data, shared or transferred buffers. */
export interface TrainerInit {
  type: 'init';
  backend: BackendChoice;
  model: { name: ModelName; classes: number; inputShape: [number, number, number] };
  /**
   * Stamped training images, headA, headB and the forget set, in SharedArrayBuffers: read by every thread, never
   * copied.
   */
  images: Uint8Array;
  headA: Uint8Array;
  headB: Uint8Array;
  forget: Uint8Array;
  shape: { name: string; height: number; width: number; channels: number };
}

/**
 * A client job as sent to a trainer thread: the encoded job (the round's global weights in a SharedArrayBuffer that
 * all jobs of the round share) and the client's samples.
 */
export interface TrainerTrain {
  type: 'train';
  id: number;
  job: EncodedJob;
  indices: Int32Array;
}

/**
 * The logits of one batch of an evaluation set under several heads (the per-round evaluation, spread over the
 * threads): the batch is the one the coordinator would have computed itself, so the bytes are the same.
 */
export interface TrainerPredict {
  type: 'predict';
  id: number;
  /** The global model, flattened, in a SharedArrayBuffer that all batches of the evaluation share. */
  weights: Float32Array;
  heads: Head[];
  /** The batch's normalised images: a view of the evaluation set's SharedArrayBuffer. */
  x: Float32Array;
  count: number;
}

export type TrainerRequest = TrainerInit | TrainerTrain | TrainerPredict;

export type TrainerReply =
  | { type: 'ready'; backend: string }
  | { type: 'progress'; id: number; step: number; total: number }
  | { type: 'done'; id: number; result: EncodedResult }
  | { type: 'logits'; id: number; logits: Float32Array[] }
  | { type: 'error'; id?: number; error: SerializedError };
