import type { Dataset } from '../artifacts/dataset.ts';
import type { TrainingRecipe } from '../artifacts/federation.ts';
import type { Partition } from '../artifacts/partition.ts';
import { DataError } from '../core/errors.ts';
import type { TrainFederationParams } from '../generated/stage-params.ts';
import { DEFAULT_MODEL } from '../ml/models/index.ts';

/** The reference's `common` lr decay: ×0.99 per round when rounds > 101, else ×0.98 (design §4.5). */
export function referenceLrDecay(rounds: number): number {
  return rounds > 101 ? 0.99 : 0.98;
}

/**
 * A training's settings resolved for its data: what the federation records so that a retrain (and every method
 * after it) can replay it. `auto` settings take the reference's choice (design §4.4, §4.6, design §9).
 */
export function recipeOf(p: TrainFederationParams, ds: Dataset, partition: Partition, seed: number): TrainingRecipe {
  const ph = partition.header;
  const reanchor =
    p.reanchor === 'always' ||
    (p.reanchor === 'auto' && (ph.mode === 'client' || (ph.mode === 'samples' && ds.header.name === 'cifar100')));
  return {
    model: p.model === 'auto' ? (DEFAULT_MODEL[ds.header.name] ?? 'lenet') : p.model,
    rounds: p.rounds,
    localEpochs: p.localEpochs,
    batchSize: p.batchSize,
    lr: p.lr,
    lrDecay: p.lrDecay ?? referenceLrDecay(p.rounds),
    // Recorded only below 1: a full-participation federation keeps the bytes it always had.
    ...(p.clientFraction !== undefined && p.clientFraction < 1 ? { clientFraction: p.clientFraction } : {}),
    momentum: p.momentum,
    weightDecay: p.weightDecay,
    augment: p.augment,
    gamma: reanchor ? p.gamma : null,
    aggregation: p.aggregation === 'auto' ? (ph.scheme === 'dirichlet' ? 'size' : 'equal') : p.aggregation,
    evalEvery: p.evalEvery,
    seed,
  };
}

/** The dataset and partition a training reads must belong together. */
export function checkTrainingInputs(ds: Dataset, partition: Partition, stageId: string): void {
  if (partition.header.trainCount === ds.header.trainCount) return;
  throw new DataError(
    `the partition was made for a training set of ${partition.header.trainCount} images, ` +
      `but the dataset has ${ds.header.trainCount}`,
    { path: `stages.${stageId}.needs`, hint: 'wire the partition stage to the same dataset stage as this one' },
  );
}
