import type { Weights } from '../../artifacts/model.ts';
import { clientIndices } from '../../artifacts/partition.ts';
import { localRecipe } from '../../ml/train/job.ts';
import { fedAvg } from '../fedavg.ts';
import type { Strategy } from '../strategy.ts';
import { type FedAvgPhase, fedAvgPhase, selectedSizes } from './retained-fedavg.ts';
import { sequence } from './sequence.ts';
import { combine, normAll, subtract } from './vectors.ts';

/**
 * PGA's reference model (Halimi et al. 2022; design §7.6): the average of the other clients' last local models,
 * from the final global model and the forgotten clients' own last models, w_ref = (G_T − Σ_u w_u·L_u)/(1 − Σ_u w_u),
 * with w_u their FedAvg weights in the last round (a client absent from it contributes nothing to remove).
 */
export function pgaReference(final: Weights, lastLocals: { weight: number; local: Weights }[]): Weights {
  const removed = lastLocals.reduce((s, l) => s + l.weight, 0);
  if (removed >= 1) throw new Error('every client of the last round is forgotten: no reference model is left');
  return combine([
    { scale: 1 / (1 - removed), weights: final },
    ...lastLocals.map((l) => ({ scale: -l.weight / (1 - removed), weights: l.local })),
  ]);
}

/** The ball's radius: `fraction` of the distance from the reference model to a freshly initialised one. */
export function pgaRadius(reference: Weights, random: Weights, fraction: number): number {
  return fraction * normAll(subtract(reference, random));
}

/**
 * PGA: the forgotten clients climb the loss on their data from the reference model for `ascent.epochs` epochs,
 * projected back into the L2 ball of `radius` around it after every step (their results are averaged), then
 * `rounds` rounds of FedAvg on the remaining data, continuing the training's schedule.
 */
export function pgaStrategy(
  opts: Omit<FedAvgPhase, 'samples' | 'clients'> & {
    forgotten: number[];
    reference: Weights;
    radius: number;
    ascent: { epochs: number; lr: number };
    rounds: number;
  },
): { strategy: Strategy; rounds: number } {
  const forgetSizes = selectedSizes(opts.partition, 'forget');
  const climbers = opts.forgotten.filter((k) => forgetSizes[k] > 0);
  const recipe = localRecipe({ ...opts.recipe, localEpochs: opts.ascent.epochs });
  const ascent: Strategy = {
    lr: () => opts.ascent.lr,
    jobs: () =>
      climbers.map((k) => ({
        round: opts.firstRound,
        client: k,
        weights: opts.reference,
        anchor: opts.reference,
        indices: clientIndices(opts.partition, k),
        lr: opts.ascent.lr,
        recipe,
        samples: 'forget' as const,
        ascent: { radius: opts.radius },
      })),
    aggregate: (state, results) => ({
      weights: fedAvg(
        results.map((r) => r.weights),
        results.map((r) => forgetSizes[r.client]),
      ),
      heads: state.heads,
    }),
    weightOf: (k) => forgetSizes[k],
  };
  const after = fedAvgPhase({ ...opts, samples: 'retain', firstRound: opts.firstRound + 1 });
  return sequence([
    { strategy: ascent, rounds: 1 },
    { strategy: after, rounds: opts.rounds },
  ]);
}
