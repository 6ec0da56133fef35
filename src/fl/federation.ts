import type { RoundRecord } from '../artifacts/history.ts';
import type { Head, Weights } from '../artifacts/model.ts';
import { InterruptedError } from '../core/errors.ts';
import type { ClientResult, ClientRunner } from '../ml/train/job.ts';
import type { TrainState } from './state.ts';
import type { Strategy } from './strategy.ts';

export { classifierOf, initialState, type TrainState } from './state.ts';

/**
 * Thrown by a runner whose results of earlier rounds turned out wrong (a cluster worker caught answering wrong
 * after it had contributed): the training starts again from where this run started, without that worker.
 */
export class TrainingRestart extends Error {}

/**
 * Evaluates the global model after round `round` (the unlearning clients' heads W2 beside it): what the history
 * records of that round.
 */
export type Evaluator = (
  round: number,
  weights: Weights,
  heads: Map<number, Head>,
) => Promise<Pick<RoundRecord, 'testAccuracy' | 'forget'>>;

export interface TrainHooks {
  signal?: AbortSignal;
  onClient?(round: number, done: number, total: number, result: ClientResult): void;
  /** After each round (aggregated, evaluated): checkpoint here; `results` are the round's answers, in client order. */
  onRound?(state: TrainState, record: RoundRecord, results: ClientResult[]): Promise<void> | void;
}

/**
 * The round loop every federated training shares: each round, the strategy's jobs go to the runner (trainer
 * threads or a cluster's workers), the answers are aggregated in client order whatever order they came in, the
 * global model is evaluated every `evalEvery` rounds (and after the last), and the hooks checkpoint and report.
 */
export async function runRounds(opts: {
  strategy: Strategy;
  rounds: number;
  evalEvery: number;
  runner: ClientRunner;
  evaluate: Evaluator;
  state: TrainState;
  hooks?: TrainHooks;
}): Promise<TrainState> {
  const { strategy, runner, hooks } = opts;
  let state = opts.state;
  while (state.round < opts.rounds) {
    if (hooks?.signal?.aborted) throw new InterruptedError();
    const round = state.round;
    const t0 = performance.now();
    const jobs = strategy.jobs(round, state);
    let done = 0;
    const results = await runner.run(jobs, (r) => hooks?.onClient?.(round, ++done, jobs.length, r), hooks?.signal);
    if (hooks?.signal?.aborted) throw new InterruptedError();
    results.sort((a, b) => a.client - b.client);
    const { weights, heads } = strategy.aggregate(state, results);
    const samples = results.reduce((n, r) => n + r.samples, 0);
    const loss = results.reduce((sum, r) => sum + r.loss * r.samples, 0) / Math.max(1, samples);
    const record: RoundRecord = { round: round + 1, lr: strategy.lr(round), loss, samples, ...strategy.note?.(round) };
    if ((round + 1) % opts.evalEvery === 0 || round + 1 === opts.rounds) {
      Object.assign(record, await opts.evaluate(round + 1, weights, heads));
    }
    const seconds = state.seconds + (performance.now() - t0) / 1000;
    state = { round: round + 1, weights, heads, history: [...state.history, record], seconds };
    await hooks?.onRound?.(state, record, results);
  }
  return state;
}
