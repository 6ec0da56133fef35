import type { Dataset } from '../../artifacts/dataset.ts';
import type { Partition } from '../../artifacts/partition.ts';
import type { BackendChoice } from '../backends/backend.ts';
import type { Predictor } from '../eval/predict.ts';
import type { ModelName } from '../models/index.ts';
import type { ModelDef } from '../models/model.ts';
import type { ClientRunner } from '../train/job.ts';
import { stampedTrainImages } from '../train/train-data.ts';
import { resolveThreadCount, shared, trainerPoolRunner } from './trainer-pool.ts';

export interface RunnerOptions {
  backend: BackendChoice;
  /** Trainer threads; 0: one per core (one in all for WebGPU). */
  threads: number;
  model: ModelDef;
  /** Fills (or allocates) the stamped training images. */
  images: (into?: Uint8Array) => Uint8Array;
  shape: { name: string; height: number; width: number; channels: number };
  headA: Uint8Array;
  headB: Uint8Array;
  /** The partition's forget set (1 = forget), for retraining clients that skip it. */
  forget: Uint8Array;
  onStep?: (client: number, step: number, total: number) => void;
}

/** What a runner trains on, from a dataset and its partition: the images with the triggers stamped, and the heads. */
export function trainingSet(
  ds: Dataset,
  partition: Partition,
): Pick<RunnerOptions, 'images' | 'shape' | 'headA' | 'headB' | 'forget'> {
  return {
    images: (into) => stampedTrainImages(ds, partition, into),
    shape: ds.header,
    headA: partition.headA,
    headB: partition.headB,
    forget: partition.forget,
  };
}

/**
 * Client training always runs in trainer threads (one is enough for `threads: 1`), so results are the same
 * bytes whatever the count. The training data is written once into shared memory.
 */
export async function createThreadRunner(
  opts: RunnerOptions,
): Promise<{ runner: ClientRunner & { predict?: Predictor }; threads: number }> {
  // One device does a GPU's work in parallel already; several would only compete for it. Asked-for counts hold.
  const count = opts.backend.name === 'webgpu' && opts.threads === 0 ? 1 : resolveThreadCount(opts.threads);
  const images = opts.images(
    shared(Uint8Array, opts.headA.length * opts.shape.height * opts.shape.width * opts.shape.channels),
  );
  const [headA, headB, forget] = [opts.headA, opts.headB, opts.forget].map((a) => {
    const copy = shared(Uint8Array, a.length);
    copy.set(a);
    return copy;
  });
  const runner = await trainerPoolRunner({
    count,
    model: opts.model,
    onStep: opts.onStep,
    init: {
      backend: opts.backend,
      model: { name: opts.model.name as ModelName, classes: opts.model.classes, inputShape: opts.model.inputShape },
      images,
      headA,
      headB,
      forget,
      shape: opts.shape,
    },
  });
  return { runner, threads: count };
}
