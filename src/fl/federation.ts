import { localRecipe, type TrainingRecipe } from '../artifacts/federation.ts';
import type { RoundRecord } from '../artifacts/history.ts';
import type { Head, Weights } from '../artifacts/model.ts';
import type { Partition } from '../artifacts/partition.ts';
import { clientIndices } from '../artifacts/partition.ts';
import { InterruptedError } from '../core/errors.ts';
import { reanchor } from '../ml/fedau/unlearn-op.ts';
import { aggregationWeights, fedAvg } from './fedavg.ts';
import type { ModelDef } from '../ml/models/model.ts';
import { initWeights } from '../ml/models/params.ts';
import type { ClientJob, ClientResult } from '../ml/train/client-train.ts';

export type FederationSettings = TrainingRecipe & {
  /**
   * The retrain-from-scratch baseline: plain FedAvg without auxiliary heads on the same partition minus its forget
   * set, with the same initial weights, shuffles and augmentation for every remaining sample.
   */
  retrain?: boolean;
};

export interface TrainState {
  /** Rounds completed so far. */
  round: number;
  weights: Weights;
  heads: Map<number, Head>;
  history: RoundRecord[];
  /** Wall-clock seconds spent on the rounds so far (kept apart from the history, which is deterministic). */
  seconds: number;
}

/**
 * Thrown by a runner whose results of earlier rounds turned out wrong (a cluster worker caught answering wrong
 * after it had contributed): the training starts again from where this run started, without that worker.
 */
export class TrainingRestart extends Error {}

/** Trains the clients of a round, in this thread or in workers; results may arrive in any order. */
export interface ClientRunner {
  run(jobs: ClientJob[], onDone: (result: ClientResult) => void, signal?: AbortSignal): Promise<ClientResult[]>;
  close(): Promise<void>;
}

/**
 * Evaluates the global model after round `round` (the unlearning clients' heads W2 beside it): what the history
 * records of that round.
 */
export type Evaluator = (
  round: number,
  weights: Weights,
  heads: Map<number, Head>,
) => Promise<Pick<RoundRecord, 'testAccuracy' | 'forget'>>;

/** Round 0: the seeded initial weights, and (for FedAU, not for a retrain) each unlearning client's fresh W2. */
export function initialState(model: ModelDef, partition: Partition, seed: number, retrain = false): TrainState {
  const weights = initWeights(model.specs, seed);
  const heads = new Map<number, Head>();
  if (retrain) return { round: 0, weights, heads, history: [], seconds: 0 };
  const w = model.specs[model.classifier.weight];
  const b = model.specs[model.classifier.bias];
  for (const k of partition.header.unlearningClients) {
    // Each unlearning client's W2 starts as a fresh random head (reference §4.1), seeded per client.
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

export interface TrainHooks {
  signal?: AbortSignal;
  onClient?(round: number, done: number, total: number, result: ClientResult): void;
  /** After each round (aggregated, evaluated): checkpoint here. */
  onRound?(state: TrainState, record: RoundRecord): Promise<void> | void;
}

/**
 * FedAvg with FedAU's unlearning clients (reference §4.1): every round each client starts from the global
 * model; an unlearning client also brings its own W2 (optionally re-anchored towards W1), trains with the
 * two-headed loss, and keeps its W2; only shared parameters are averaged. The unlearned model is evaluated
 * but never fed back into training.
 */
export async function runFederation(opts: {
  model: ModelDef;
  settings: FederationSettings;
  partition: Partition;
  runner: ClientRunner;
  evaluate: Evaluator;
  state: TrainState;
  hooks?: TrainHooks;
}): Promise<TrainState> {
  const { model, settings: s, partition, runner, hooks } = opts;
  let state = opts.state;
  const K = partition.header.clients;
  // A retrain aggregates by what each client has left: a client forgotten whole gets weight 0 (reference §7.1).
  const sizes = Array.from(
    { length: K },
    (_, k) => clientIndices(partition, k).filter((i) => !(s.retrain && partition.forget[i])).length,
  );
  const weightsOf = aggregationWeights(sizes, s.aggregation);
  while (state.round < s.rounds) {
    if (hooks?.signal?.aborted) throw new InterruptedError();
    const round = state.round;
    const t0 = performance.now();
    const lr = s.lr * s.lrDecay ** round;
    const global = classifierOf(model, state.weights);
    const recipe = localRecipe(s);
    const jobs: ClientJob[] = [];
    for (let k = 0; k < K; k++) {
      if (sizes[k] === 0) continue;
      let head = state.heads.get(k);
      if (head && s.gamma !== null) head = reanchor(head, global, s.gamma);
      jobs.push({
        round,
        client: k,
        weights: state.weights,
        head: head ? [head.weight, head.bias] : undefined,
        indices: clientIndices(partition, k),
        lr,
        recipe,
        ...(s.retrain ? { dropForget: true } : {}),
      });
    }
    let done = 0;
    const results = await runner.run(jobs, (r) => hooks?.onClient?.(round, ++done, jobs.length, r), hooks?.signal);
    if (hooks?.signal?.aborted) throw new InterruptedError();
    // Aggregate in client order, whatever order the workers finished in.
    results.sort((a, b) => a.client - b.client);
    const weights = fedAvg(
      results.map((r) => r.weights),
      results.map((r) => weightsOf[r.client]),
    );
    const heads = new Map(state.heads);
    for (const r of results) if (r.head) heads.set(r.client, { weight: r.head[0], bias: r.head[1] });
    const samples = results.reduce((n, r) => n + r.samples, 0);
    const loss = results.reduce((sum, r) => sum + r.loss * r.samples, 0) / Math.max(1, samples);
    const record: RoundRecord = { round: round + 1, lr, loss, samples };
    const next: TrainState = { round: round + 1, weights, heads, history: state.history, seconds: state.seconds };
    if ((round + 1) % s.evalEvery === 0 || round + 1 === s.rounds) {
      Object.assign(record, await opts.evaluate(round + 1, weights, heads));
    }
    state = { ...next, history: [...state.history, record], seconds: state.seconds + (performance.now() - t0) / 1000 };
    await hooks?.onRound?.(state, record);
  }
  return state;
}

/** The reference's `common` lr decay: ×0.99 per round when rounds > 101, else ×0.98 (reference §4.5). */
export function referenceLrDecay(rounds: number): number {
  return rounds > 101 ? 0.99 : 0.98;
}
