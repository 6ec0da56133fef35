import type { Augmentation } from './preprocess.ts';

/** One training batch: sample indices into the training set, with the augmentation drawn for each. */
export interface Batch {
  indices: number[];
  augmentations: (Augmentation | undefined)[];
}

/**
 * The batches of one local epoch: consecutive runs of the shuffled `order`. Each sample's augmentation is drawn
 * in order position, skipped samples included, so that a retrain that `skip`s the forget set trains every
 * remaining sample in the same relative order and with the same augmentation as the FedAU training did.
 */
export function* epochBatches(
  order: ArrayLike<number>,
  batchSize: number,
  draw: (() => Augmentation | undefined) | undefined,
  skip?: Uint8Array,
): Generator<Batch> {
  let cursor = 0;
  while (cursor < order.length) {
    const batch: Batch = { indices: [], augmentations: [] };
    while (batch.indices.length < batchSize && cursor < order.length) {
      const index = order[cursor++];
      const augmentation = draw?.();
      if (skip?.[index]) continue;
      batch.indices.push(index);
      batch.augmentations.push(augmentation);
    }
    if (batch.indices.length) yield batch;
  }
}
