import type { TrainingRecipe } from '../../artifacts/federation.ts';
import type { Weights } from '../../artifacts/model.ts';
import { clientIndices, type Partition } from '../../artifacts/partition.ts';
import { type ClientJob, localRecipe, type SampleSelection } from '../../ml/train/job.ts';
import { aggregationWeights, fedAvg } from '../fedavg.ts';
import type { Strategy } from '../strategy.ts';

/** Each client's sample count under a selection (its retained samples, or its forget set). */
export function selectedSizes(partition: Partition, samples: SampleSelection): number[] {
  return Array.from({ length: partition.header.clients }, (_, k) => {
    const idx = clientIndices(partition, k);
    if (samples === 'all') return idx.length;
    return idx.filter((i) => (samples === 'retain' ? !partition.forget[i] : partition.forget[i] === 1)).length;
  });
}

export interface FedAvgPhase {
  partition: Partition;
  recipe: TrainingRecipe;
  /** Which samples the clients train on: `retain` (fine-tuning, calibration) or `forget` (relearning). */
  samples: SampleSelection;
  /** The round number of the phase's first round, for the seeded shuffles and the lr schedule (design §10). */
  firstRound: number;
  /** Local epochs, when not the recipe's. */
  localEpochs?: number;
  /** The lr of the phase's first round, when not the recipe's schedule at `firstRound`. */
  lr?: number;
  /** Only these clients take part (default: every client with samples of the selection). */
  clients?: number[];
  /** Applied to every aggregated model (pruning keeps its pruned channels at zero). */
  afterAggregate?: (weights: Weights) => Weights;
}

/**
 * Plain FedAvg over the clients' selected samples, continuing the training's schedule: the fine-tuning of several
 * methods (design §7). Every client with samples takes part every round; weights follow the recipe's aggregation.
 */
export function fedAvgPhase(p: FedAvgPhase): Strategy {
  const s = p.recipe;
  const sizes = selectedSizes(p.partition, p.samples);
  const weightOf = aggregationWeights(sizes, s.aggregation);
  const allowed = p.clients ? new Set(p.clients) : undefined;
  const taking = sizes.map((_, k) => k).filter((k) => sizes[k] > 0 && (!allowed || allowed.has(k)));
  const recipe = localRecipe({ ...s, localEpochs: p.localEpochs ?? s.localEpochs });
  const lr = (round: number) => (p.lr ?? s.lr * s.lrDecay ** p.firstRound) * s.lrDecay ** round;
  return {
    lr,
    jobs: (round, state) =>
      taking.map(
        (k): ClientJob => ({
          round: p.firstRound + round,
          client: k,
          weights: state.weights,
          indices: clientIndices(p.partition, k),
          lr: lr(round),
          recipe,
          samples: p.samples,
        }),
      ),
    aggregate(state, results) {
      const weights = fedAvg(
        results.map((r) => r.weights),
        results.map((r) => weightOf[r.client]),
      );
      return { weights: p.afterAggregate ? p.afterAggregate(weights) : weights, heads: state.heads };
    },
    weightOf: (client) => weightOf[client],
  };
}
