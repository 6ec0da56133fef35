import type { RoundRecord } from '../artifacts/history.ts';
import type { Head, Weights } from '../artifacts/model.ts';
import type { Partition } from '../artifacts/partition.ts';
import type { ModelDef } from '../ml/models/model.ts';
import { initWeights } from '../ml/models/params.ts';

/** Where a training stands after some rounds: what a checkpoint keeps and a round starts from. */
export interface TrainState {
  /** Rounds completed so far. */
  round: number;
  weights: Weights;
  heads: Map<number, Head>;
  history: RoundRecord[];
  /** Wall-clock seconds spent on the rounds so far (kept apart from the history, which is deterministic). */
  seconds: number;
}

/** Round 0: the seeded initial weights, and (for FedAU, not for a retrain) each unlearning client's fresh W2. */
export function initialState(model: ModelDef, partition: Partition, seed: number, retrain = false): TrainState {
  const weights = initWeights(model.specs, seed);
  const heads = new Map<number, Head>();
  if (retrain) return { round: 0, weights, heads, history: [], seconds: 0 };
  const w = model.specs[model.classifier.weight];
  const b = model.specs[model.classifier.bias];
  for (const k of partition.header.unlearningClients) {
    // Each unlearning client's W2 starts as a fresh random head (design §4.1), seeded per client.
    const [weight, bias] = initWeights(
      [
        { ...w, name: `classifier_ul.weight/${k}` },
        { ...b, name: `classifier_ul.bias/${k}` },
      ],
      seed,
    );
    heads.set(k, { weight, bias });
  }
  return { round: 0, weights, heads, history: [], seconds: 0 };
}

export function classifierOf(model: ModelDef, weights: Weights): Head {
  return { weight: weights[model.classifier.weight], bias: weights[model.classifier.bias] };
}
