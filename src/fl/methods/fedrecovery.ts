import type { Weights } from '../../artifacts/model.ts';
import type { Recording } from '../../artifacts/recording.ts';
import type { Rng } from '../../core/rng.ts';
import { combine, norm, split } from './vectors.ts';

/**
 * The weight p_t of each round's update (design §7.5): ‖ΔG_t‖² over the sum of the earlier rounds' ‖ΔG_j‖², with
 * p_0 = 1 (the first round has no earlier rounds to be measured against, and the natural limit is 1).
 */
export function roundWeights(globalUpdates: Float32Array[]): number[] {
  let earlier = 0;
  return globalUpdates.map((d) => {
    const sq = norm(d) ** 2;
    const p = earlier > 0 ? sq / earlier : 1;
    earlier += sq;
    return p;
  });
}

/**
 * FedRecovery (Zhang et al. 2023), as intended (design §7.5): from the final model, subtract for every round the
 * weighted residual of the forgotten client, p_t·(1/(m−1))·(ΔG_t − (L_t[u] − G_t)/m) with m the round's
 * participants, then add Gaussian noise N(0, σ²) to every trainable entry. Needs every round's local models.
 */
export function fedRecoveryUnlearn(
  recording: Recording,
  clients: number[],
  opts: { sigma: number; rng: Rng; sizes: number[]; trainable: boolean[] },
): { weights: Weights; storedBytes: number } {
  const h = recording.header;
  const T = h.rounds;
  const globals = Array.from({ length: T + 1 }, (_, t) => recording.global(t));
  const deltas = globals.slice(0, T).map((g, t) => Float32Array.from(g, (v, j) => globals[t + 1][j] - v));
  const p = roundWeights(deltas);
  const terms: { scale: number; weights: Weights }[] = [{ scale: 1, weights: split(globals[T], opts.sizes) }];
  let storedBytes = globals.reduce((n, g) => n + g.byteLength, 0);
  for (let t = 0; t < T; t++) {
    const m = h.participants[t].length;
    for (const u of clients) {
      if (!h.participants[t].includes(u)) continue;
      const local = recording.local(t, u);
      if (!local) throw new Error(`FedRecovery needs client ${u}'s model of round ${t}: record with every: 1`);
      storedBytes += local.byteLength;
      const residual = Float32Array.from(deltas[t], (d, j) => d - (local[j] - globals[t][j]) / m);
      terms.push({ scale: -p[t] / Math.max(1, m - 1), weights: split(residual, opts.sizes) });
    }
  }
  const weights = combine(terms);
  weights.forEach((w, i) => {
    if (!opts.trainable[i] || opts.sigma === 0) return;
    for (let j = 0; j < w.length; j++) w[j] += opts.sigma * opts.rng.normal();
  });
  return { weights, storedBytes };
}
