import type * as tfType from '@tensorflow/tfjs';
import type { Weights } from '../../artifacts/model.ts';
import type { ModelDef } from '../models/model.ts';
import type { EvalSet } from './eval-sets.ts';

/**
 * Each convolution's mean activation per channel and per class, F[c][j], over the images of `set` (their
 * `expected` labels as classes): the spatial mean of each image's activation map, averaged over the class's images.
 * Keyed by the convolution's weight index in the model's specs.
 */
export async function classChannelActivations(
  tf: typeof tfType,
  model: ModelDef,
  weights: Weights,
  set: EvalSet,
  batchSize = 256,
): Promise<Map<number, number[][]>> {
  if (!model.tapsConvolutions) throw new Error(`model ${model.name} does not report its convolutions' activations`);
  const [h, w, c] = model.inputShape;
  const size = h * w * c;
  const sums = new Map<number, Float64Array>();
  const channels = new Map<number, number>();
  const counts = new Float64Array(model.classes);
  for (const label of set.expected) counts[label]++;
  const params = weights.map((v, i) => tf.tensor(v, model.specs[i].shape));
  try {
    for (let start = 0; start < set.count; start += batchSize) {
      const n = Math.min(batchSize, set.count - start);
      const kept: [number, tfType.Tensor, number][] = [];
      tf.tidy(() => {
        const x = tf.tensor4d(set.x.subarray(start * size, (start + n) * size), [n, h, w, c]);
        model.features(tf, params, x, false, (index, activation) => {
          kept.push([index, tf.keep(tf.mean(activation, [1, 2])), activation.shape[3]]);
        });
      });
      // Read asynchronously: a GPU backend under Node cannot read synchronously.
      const maps = await Promise.all(
        kept.map(async ([i, t, cout]) => [i, (await t.data()) as Float32Array, cout] as const),
      );
      tf.dispose(kept.map(([, t]) => t));
      for (const [index, data, cout] of maps) {
        channels.set(index, cout);
        if (!sums.has(index)) sums.set(index, new Float64Array(cout * model.classes));
        const acc = sums.get(index)!;
        for (let i = 0; i < n; i++) {
          const label = set.expected[start + i];
          for (let ch = 0; ch < cout; ch++) acc[ch * model.classes + label] += data[i * cout + ch];
        }
      }
    }
  } finally {
    tf.dispose(params);
  }
  const out = new Map<number, number[][]>();
  for (const [index, acc] of sums) {
    const cout = channels.get(index)!;
    out.set(
      index,
      Array.from({ length: cout }, (_, ch) =>
        Array.from({ length: model.classes }, (_, j) => (counts[j] ? acc[ch * model.classes + j] / counts[j] : 0)),
      ),
    );
  }
  return out;
}
