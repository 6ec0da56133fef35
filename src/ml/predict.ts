import type * as tfType from '@tensorflow/tfjs';
import type { Head, Weights } from '../artifacts/model.ts';
import type { EvalSet, EvalSets } from './eval-sets.ts';
import type { ModelDef } from './models/model.ts';

/**
 * Predicted classes of `set` under several classifiers that share one feature extractor (the global model and
 * its unlearned variants differ only in the last layer): the features are computed once, in large batches.
 */
export function predictWithHeads(
  tf: typeof tfType,
  model: ModelDef,
  weights: Weights,
  heads: Head[],
  set: EvalSet,
  batchSize = 1000,
): Int32Array[] {
  const [H, W, C] = model.inputShape;
  const size = H * W * C;
  const preds = heads.map(() => new Int32Array(set.count));
  const params = weights.map((w, i) => tf.tensor(w, model.specs[i].shape));
  const headTensors = heads.map(
    (h) => [tf.tensor2d(h.weight, [model.featureSize, model.classes]), tf.tensor1d(h.bias)] as const,
  );
  try {
    for (let start = 0; start < set.count; start += batchSize) {
      const n = Math.min(batchSize, set.count - start);
      const results = tf.tidy(() => {
        const x = tf.tensor4d(set.x.subarray(start * size, (start + n) * size), [n, H, W, C]);
        const { z } = model.features(tf, params, x, false);
        return headTensors.map(([w, b]) => tf.argMax(tf.add(tf.matMul(z, w), b), 1));
      });
      results.forEach((r, h) => {
        preds[h].set(r.dataSync() as Int32Array, start);
        r.dispose();
      });
    }
  } finally {
    tf.dispose([...params, ...headTensors.flat()]);
  }
  return preds;
}

export function accuracy(pred: Int32Array, expected: Int32Array): number {
  if (pred.length === 0) return 0;
  let hits = 0;
  for (let i = 0; i < pred.length; i++) if (pred[i] === expected[i]) hits++;
  return hits / pred.length;
}

/**
 * The per-round evaluation of a federation: test accuracy and forget metric of the global model and, when given,
 * of its unlearned classifier; one feature pass per set serves both classifiers.
 */
export function roundMetrics(
  tf: typeof tfType,
  model: ModelDef,
  sets: EvalSets,
  weights: Weights,
  unlearned: Head | undefined,
) {
  const heads = [
    { weight: weights[model.classifier.weight], bias: weights[model.classifier.bias] },
    ...(unlearned ? [unlearned] : []),
  ];
  const test = predictWithHeads(tf, model, weights, heads, sets.test);
  const forget = sets.forget ? predictWithHeads(tf, model, weights, heads, sets.forget) : undefined;
  return {
    testAccuracy: accuracy(test[0], sets.test.expected),
    forget: forget ? accuracy(forget[0], sets.forget!.expected) : undefined,
    unlearnedTestAccuracy: unlearned ? accuracy(test[1], sets.test.expected) : undefined,
    unlearnedForget: unlearned && forget ? accuracy(forget[1], sets.forget!.expected) : undefined,
  };
}
