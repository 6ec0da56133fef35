import type { Weights } from '../artifacts/model.ts';

/**
 * FedAvg: Σ_k w_k·θ_k with the weights normalised to sum to 1, accumulated in the order given (client order),
 * in float64, so the result never depends on which worker finished first. BatchNorm running statistics are
 * averaged like any other float buffer (design D11).
 */
export function fedAvg(models: Weights[], weights: number[]): Weights {
  if (models.length === 0) throw new Error('FedAvg of no models');
  if (models.length !== weights.length)
    throw new Error(`FedAvg got ${models.length} models and ${weights.length} weights`);
  const total = weights.reduce((a, b) => a + b, 0);
  if (!(total > 0)) throw new Error('FedAvg weights sum to zero');
  return models[0].map((first, t) => {
    const acc = new Float64Array(first.length);
    models.forEach((m, k) => {
      const w = weights[k] / total;
      if (w === 0) return;
      const a = m[t];
      for (let i = 0; i < acc.length; i++) acc[i] += w * a[i];
    });
    return Float32Array.from(acc);
  });
}

/**
 * Aggregation weights (design §4.6 and D14): `equal` gives every participating client the same weight
 * (the reference's IID rule: 1/K, and 0.1 for UL clients, which is the same at K = 10); `size` weighs by local
 * data size (its non-IID rule). A client without data gets weight 0 (design D17).
 */
export function aggregationWeights(sizes: number[], rule: 'equal' | 'size'): number[] {
  return sizes.map((n) => (n === 0 ? 0 : rule === 'equal' ? 1 : n));
}
