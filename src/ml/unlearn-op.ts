import type { Head } from '../artifacts/model.ts';
import type { UnlearnMode } from '../artifacts/partition.ts';

export interface UnlearnSettings {
  mode: UnlearnMode;
  /** α of the sample/client rule. */
  alpha: number;
  /** `mix`: HEAD's (1−α)·W1 + α·mean W2; `w2only`: the paper-era assignment α·mean W2 (reference §5, §8 #2). */
  rule: 'mix' | 'w2only';
  /** Class mode: W1 − scale·mean W2 (the reference uses 1; its pretrain script 0.5). */
  classScale: number;
}

/**
 * FedAU's unlearning: a linear operation on the last layer, no retraining (reference §5).
 *   samples, client:  W1' = (1−α)·W1 + α·(1/n)·Σ_k W2_k     (rule mix)
 *                     W1' = α·(1/n)·Σ_k W2_k               (rule w2only; α only scales the logits)
 *   class:            W1' = W1 − s·(1/n)·Σ_k W2_k
 * and the same for the biases. `heads` are the W2, b2 of the clients being forgotten.
 */
export function unlearnClassifier(classifier: Head, heads: Head[], s: UnlearnSettings): Head {
  if (heads.length === 0) throw new Error('unlearning needs at least one unlearning client head');
  const mean = (pick: (h: Head) => Float32Array) => {
    const out = new Float64Array(pick(heads[0]).length);
    for (const h of heads) {
      const a = pick(h);
      for (let i = 0; i < out.length; i++) out[i] += a[i] / heads.length;
    }
    return out;
  };
  const combine = (w1: Float32Array, w2: Float64Array): Float32Array => {
    const out = new Float32Array(w1.length);
    for (let i = 0; i < out.length; i++) {
      if (s.mode === 'class') out[i] = w1[i] - s.classScale * w2[i];
      else if (s.rule === 'mix') out[i] = (1 - s.alpha) * w1[i] + s.alpha * w2[i];
      else out[i] = s.alpha * w2[i];
    }
    return out;
  };
  if (s.mode === 'none') return classifier;
  return {
    weight: combine(
      classifier.weight,
      mean((h) => h.weight),
    ),
    bias: combine(
      classifier.bias,
      mean((h) => h.bias),
    ),
  };
}

/** The γ "re-anchoring" of W2 before an unlearning client trains (reference §4.4): W2 ← (1−γ)·W1 + γ·W2. */
export function reanchor(head: Head, classifier: Head, gamma: number): Head {
  const mix = (w2: Float32Array, w1: Float32Array) => w2.map((v, i) => (1 - gamma) * w1[i] + gamma * v);
  return { weight: mix(head.weight, classifier.weight), bias: mix(head.bias, classifier.bias) };
}
