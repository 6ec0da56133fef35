import type { Weights } from '../../artifacts/model.ts';

/**
 * Arithmetic on models held as one Float32Array per parameter tensor (or one flat vector), accumulated in float64
 * and in a fixed order, so that a method's result never depends on anything but its inputs.
 */

/** a − b, tensor by tensor. */
export function subtract(a: Weights, b: Weights): Weights {
  return a.map((t, i) => Float32Array.from(t, (v, j) => v - b[i][j]));
}

/** Σ_k c_k·x_k, tensor by tensor, in the order given. */
export function combine(terms: { scale: number; weights: Weights }[]): Weights {
  const first = terms[0].weights;
  return first.map((_, i) => {
    const acc = new Float64Array(first[i].length);
    for (const { scale, weights } of terms) {
      if (scale === 0) continue;
      const t = weights[i];
      for (let j = 0; j < acc.length; j++) acc[j] += scale * t[j];
    }
    return Float32Array.from(acc);
  });
}

/** The L2 norm of one tensor (or flat vector). */
export function norm(t: Float32Array): number {
  let sq = 0;
  for (let j = 0; j < t.length; j++) sq += t[j] * t[j];
  return Math.sqrt(sq);
}

/** The L2 norm over every tensor of a model. */
export function normAll(w: Weights): number {
  return Math.sqrt(w.reduce((s, t) => s + norm(t) ** 2, 0));
}

/** A flat vector cut into tensors of the given sizes. */
export function split(flat: Float32Array, sizes: number[]): Weights {
  let o = 0;
  return sizes.map((n) => {
    const t = flat.slice(o, o + n);
    o += n;
    return t;
  });
}
