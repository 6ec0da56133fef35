import type { Dataset } from '../../artifacts/dataset.ts';
import type { Partition } from '../../artifacts/partition.ts';
import type { TrainData } from './client-train.ts';
import { BatchMaker, preprocessFor, stampTrigger } from './preprocess.ts';

/**
 * The training images as the clients see them: a copy with the backdoor stamped on every triggered sample
 * (before augmentation, as the reference does, design §2.3), plus the explicit head labels of the partition.
 * `images` may be a SharedArrayBuffer-backed array, so workers read it without a copy.
 */
export function stampedTrainImages(ds: Dataset, partition: Partition, into?: Uint8Array): Uint8Array {
  const images = into ?? new Uint8Array(ds.trainImages.length);
  images.set(ds.trainImages);
  const trigger = partition.header.trigger;
  if (trigger)
    for (let i = 0; i < partition.triggered.length; i++)
      if (partition.triggered[i]) stampTrigger(images, i, ds.header, trigger);
  return images;
}

export function trainData(
  images: Uint8Array,
  shape: { name: string; height: number; width: number; channels: number },
  headA: Uint8Array,
  headB: Uint8Array,
  forget?: Uint8Array,
): TrainData {
  return { batches: new BatchMaker(images, shape, preprocessFor(shape.name, shape.channels)), headA, headB, forget };
}
