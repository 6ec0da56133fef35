import type { TrainingRecipe } from '../artifacts/federation.ts';
import type { Head } from '../artifacts/model.ts';
import { clientIndices, type Partition } from '../artifacts/partition.ts';
import { reanchor } from '../ml/fedau/unlearn-op.ts';
import type { ModelDef } from '../ml/models/model.ts';
import { type ClientJob, type ClientResult, localRecipe } from '../ml/train/job.ts';
import { aggregationWeights, fedAvg } from './fedavg.ts';
import { participants } from './participation.ts';
import type { TrainState } from './state.ts';

/**
 * A federated algorithm, as the round loop sees it (Flower's Strategy): what each participating client does this
 * round, and how the answers become the next global state. FedAU's training, its retrain, and the other methods'
 * training phases are each one of these; the loop, the runners, checkpoints and evaluation are shared.
 */
export interface Strategy {
  /** The learning rate of a round. */
  lr(round: number): number;
  /** The jobs of a round, starting from `state`, for the clients that take part in it. */
  jobs(round: number, state: TrainState): ClientJob[];
  /** The global weights and heads after a round, from its results in client order. */
  aggregate(state: TrainState, results: ClientResult[]): Pick<TrainState, 'weights' | 'heads'>;
  /** What the history records of a round besides its losses (who took part, when not everyone). */
  note?(round: number): { participants?: number[] };
  /** A client's weight in the average, before normalising over a round's participants. */
  weightOf(client: number): number;
}

/**
 * FedAvg with FedAU's unlearning clients (design §4.1): each participant starts from the global model; an
 * unlearning client also brings its own W2 (re-anchored towards W1 when γ is set), trains with the two-headed loss,
 * and keeps its W2; only shared parameters are averaged, over the round's participants. With `retrain`, plain FedAvg
 * without heads on each client's samples outside the forget set (design §6): the same participants, less those
 * left with nothing to train on.
 */
export function fedauStrategy(opts: {
  model: ModelDef;
  partition: Partition;
  recipe: TrainingRecipe;
  retrain: boolean;
  /** Ask the unlearning clients for the summed change of their forget-set steps (recorded for Amnesiac). */
  recordForgetSteps?: boolean;
}): Strategy {
  const { model, partition, recipe: s, retrain } = opts;
  const ul = new Set(partition.header.unlearningClients);
  const K = partition.header.clients;
  const sizes = Array.from(
    { length: K },
    (_, k) => clientIndices(partition, k).filter((i) => !(retrain && partition.forget[i])).length,
  );
  const weightOf = aggregationWeights(sizes, s.aggregation);
  const fraction = s.clientFraction ?? 1;
  const taking = (round: number) => participants(round, K, fraction, s.seed).filter((k) => sizes[k] > 0);
  const recipe = localRecipe(s);
  return {
    lr: (round) => s.lr * s.lrDecay ** round,
    jobs(round, state) {
      const global = { weight: state.weights[model.classifier.weight], bias: state.weights[model.classifier.bias] };
      return taking(round).map((k) => {
        let head = state.heads.get(k);
        if (head && s.gamma !== null) head = reanchor(head, global, s.gamma);
        return {
          round,
          client: k,
          weights: state.weights,
          head: head ? [head.weight, head.bias] : undefined,
          indices: clientIndices(partition, k),
          lr: s.lr * s.lrDecay ** round,
          recipe,
          samples: retrain ? 'retain' : 'all',
          ...(opts.recordForgetSteps && ul.has(k) ? { recordForgetSteps: true } : {}),
        } satisfies ClientJob;
      });
    },
    aggregate(state, results) {
      const weights = fedAvg(
        results.map((r) => r.weights),
        results.map((r) => weightOf[r.client]),
      );
      const heads = new Map<number, Head>(state.heads);
      for (const r of results) if (r.head) heads.set(r.client, { weight: r.head[0], bias: r.head[1] });
      return { weights, heads };
    },
    note: (round) => (fraction < 1 ? { participants: taking(round) } : {}),
    weightOf: (client) => weightOf[client],
  };
}
