import type { Head } from '../../artifacts/model.ts';
import type { UnlearnMode } from '../../artifacts/partition.ts';
import type { UnlearnParams } from '../../generated/stage-params.ts';

/**
 * The operation's settings, as the unlearn stage's params declare them (α of the sample/client rule; the rule, `mix`
 * or the paper-era `w2only`, design §5, D2; the class mode's scale), for a mode.
 */
export type UnlearnSettings = Pick<UnlearnParams, 'alpha' | 'rule' | 'classScale'> & { mode: UnlearnMode };

/**
 * FedAU's unlearning: a linear operation on the last layer, no retraining (design §5).
 *   samples, client:  W1' = (1−α)·W1 + α·(1/n)·Σ_k W2_k     (rule mix)
 *                     W1' = α·(1/n)·Σ_k W2_k               (rule w2only; α only scales the logits)
 *   class:            W1' = W1 − s·(1/n)·Σ_k W2_k
 * and the same for the biases. `heads` are the W2, b2 of the clients being forgotten.
 */
export function unlearnClassifier(classifier: Head, heads: Head[], s: UnlearnSettings): Head {
  if (heads.length === 0) throw new Error('unlearning needs at least one unlearning client head');
  if (s.mode === 'none') return classifier;
  const mean = (pick: (h: Head) => Float32Array) => meanOf(heads.map(pick));
  return {
    weight: combine(
      classifier.weight,
      mean((h) => h.weight),
      s,
    ),
    bias: combine(
      classifier.bias,
      mean((h) => h.bias),
      s,
    ),
  };
}

/** The element-wise mean of equally long arrays, in float64. */
function meanOf(arrays: ArrayLike<number>[]): Float64Array {
  const out = new Float64Array(arrays[0].length);
  for (const a of arrays) for (let i = 0; i < out.length; i++) out[i] += a[i] / arrays.length;
  return out;
}

/** The unlearning rule applied element-wise to W1 (or its logits) and the mean of the W2s (or of theirs). */
function combine(w1: ArrayLike<number>, w2: Float64Array, s: UnlearnSettings): Float32Array {
  const out = new Float32Array(w1.length);
  for (let i = 0; i < out.length; i++) {
    if (s.mode === 'class') out[i] = w1[i] - s.classScale * w2[i];
    else if (s.rule === 'mix') out[i] = (1 - s.alpha) * w1[i] + s.alpha * w2[i];
    else out[i] = s.alpha * w2[i];
  }
  return out;
}

/**
 * The unlearned model's logits from the logits of its parts: the operation is linear in the last layer, so
 * applying it to the logits of W1 and of each forgotten client's W2 gives the logits of the unlearned classifier
 * (up to float rounding). `logits` is [sample][head][class] with head 0 = W1; `forgotten` are the heads to use.
 */
export function unlearnedLogits(
  logits: Float32Array,
  heads: number,
  classes: number,
  forgotten: number[],
  s: UnlearnSettings,
): Float32Array {
  const count = logits.length / (heads * classes);
  const out = new Float32Array(count * classes);
  const w1 = new Float32Array(classes);
  const parts = forgotten.map(() => new Float32Array(classes));
  for (let i = 0; i < count; i++) {
    const row = i * heads * classes;
    w1.set(logits.subarray(row, row + classes));
    forgotten.forEach((h, j) => {
      parts[j].set(logits.subarray(row + h * classes, row + (h + 1) * classes));
    });
    out.set(s.mode === 'none' ? w1 : combine(w1, meanOf(parts), s), i * classes);
  }
  return out;
}

/** The γ "re-anchoring" of W2 before an unlearning client trains (design §4.4): W2 ← (1−γ)·W1 + γ·W2. */
export function reanchor(head: Head, classifier: Head, gamma: number): Head {
  const mix = (w2: Float32Array, w1: Float32Array) => w2.map((v, i) => (1 - gamma) * w1[i] + gamma * v);
  return { weight: mix(head.weight, classifier.weight), bias: mix(head.bias, classifier.bias) };
}
