import type { Weights } from '../../artifacts/model.ts';
import type { Recording } from '../../artifacts/recording.ts';
import { fedAvg } from '../fedavg.ts';
import type { Strategy } from '../strategy.ts';
import { type FedAvgPhase, fedAvgPhase } from './retained-fedavg.ts';
import { norm, split, subtract } from './vectors.ts';

/**
 * FedEraser's calibration of one round (Liu et al. 2021; design §7.2), tensor by tensor: the new update's direction
 * with the stored update's length, ‖ΔOld‖·ΔNew/‖ΔNew‖. Buffers (BatchNorm statistics) take the new update as is.
 */
export function calibrate(oldUpdate: Weights, newUpdate: Weights, isBuffer: boolean[]): Weights {
  return newUpdate.map((n, i) => {
    if (isBuffer[i]) return n;
    const nn = norm(n);
    if (nn === 0) return new Float32Array(n.length);
    const scale = norm(oldUpdate[i]) / nn;
    return Float32Array.from(n, (v) => v * scale);
  });
}

/**
 * FedEraser's unlearning phase, as intended: from the initial model G'_0, one calibration round per stored round t
 * (every `every` rounds of the training): the clients that took part in round t and keep data train on it for
 * fewer local epochs from G'_i, and G'_{i+1} = G'_i + calibrate(ΔOld_t, ΔNew_i), where ΔOld_t is the FedAvg of the
 * stored updates L_t[k] − G_t of the same clients and ΔNew_i that of the new ones.
 */
export function federaserStrategy(
  opts: Omit<FedAvgPhase, 'firstRound' | 'clients' | 'samples'> & {
    recording: Recording;
    sizes: number[];
    isBuffer: boolean[];
  },
): { strategy: Strategy; rounds: number } {
  const rec = opts.recording;
  const stored = rec.header.localRounds;
  const { recipe } = opts;
  const phase = fedAvgPhase({ ...opts, samples: 'retain', firstRound: 0 });
  const strategy: Strategy = {
    lr: (i) => recipe.lr * recipe.lrDecay ** stored[i],
    jobs: (i, state) =>
      phase
        .jobs(0, state)
        .filter((job) => rec.header.participants[stored[i]].includes(job.client))
        .map((job) => ({ ...job, round: stored[i], lr: recipe.lr * recipe.lrDecay ** stored[i] })),
    aggregate(state, results) {
      const t = stored[state.round];
      const w = results.map((r) => phase.weightOf(r.client));
      const newAvg = fedAvg(
        results.map((r) => r.weights),
        w,
      );
      const oldLocals = results.map((r) => {
        const local = rec.local(t, r.client);
        if (!local) throw new Error(`the recording has no model of client ${r.client} in round ${t}`);
        return split(local, opts.sizes);
      });
      const gt = split(rec.global(t), opts.sizes);
      const oldUpdate = subtract(fedAvg(oldLocals, w), gt);
      const newUpdate = subtract(newAvg, state.weights);
      const step = calibrate(oldUpdate, newUpdate, opts.isBuffer);
      return {
        weights: state.weights.map((g, j) => Float32Array.from(g, (v, x) => v + step[j][x])),
        heads: state.heads,
      };
    },
    weightOf: phase.weightOf,
  };
  return { strategy, rounds: stored.length };
}
