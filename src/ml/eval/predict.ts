import type * as tfType from '@tensorflow/tfjs';
import type { Head, Weights } from '../../artifacts/model.ts';
import { checkDevice } from '../backends/backend.ts';
import type { ModelDef } from '../models/model.ts';
import type { EvalSet } from './eval-sets.ts';

/** The logits of an evaluation set under several heads that share the global model's features, one array per head. */
export type Predictor = (weights: Weights, heads: Head[], set: EvalSet) => Promise<Float32Array[]>;

/**
 * The batch `predictLogits` computes at once. A predictor that spreads the work must cut the set at these same
 * boundaries so that every logit comes out of the same computation, and so the same bytes.
 */
export const PREDICT_BATCH = 1000;

/** Predicts on this thread's backend. */
export function localPredictor(tf: typeof tfType, model: ModelDef): Predictor {
  return (weights, heads, set) => predictLogits(tf, model, weights, heads, set);
}

/**
 * The logits of `set` under several classifier heads that share one feature extractor (the global model, its
 * unlearned variants and the clients' W2 differ only in the last layer): the features are computed once, in large
 * batches. Returns one [count × classes] array per head.
 */
export async function predictLogits(
  tf: typeof tfType,
  model: ModelDef,
  weights: Weights,
  heads: Head[],
  set: EvalSet,
  batchSize = PREDICT_BATCH,
): Promise<Float32Array[]> {
  const [H, W, C] = model.inputShape;
  const size = H * W * C;
  const out = heads.map(() => new Float32Array(set.count * model.classes));
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
        return headTensors.map(([w, b]) => tf.add(tf.matMul(z, w), b));
      });
      // Read asynchronously: a GPU backend cannot read synchronously under Node.
      const values = await Promise.all(results.map((r) => r.data()));
      tf.dispose(results);
      checkDevice();
      values.forEach((v, h) => {
        out[h].set(v as Float32Array, start * model.classes);
      });
    }
  } finally {
    tf.dispose([...params, ...headTensors.flat()]);
  }
  return out;
}
