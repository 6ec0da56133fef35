import type * as tfType from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { syntheticDataset } from '../../src/data/synthetic.ts';
import { initBackend } from '../../src/ml/backends/backend.ts';
import { lenet } from '../../src/ml/models/lenet.ts';
import { opsFor } from '../../src/ml/models/ops.ts';
import { initWeights } from '../../src/ml/models/params.ts';
import { trainClient } from '../../src/ml/train/client-train.ts';
import { BatchMaker, preprocessFor } from '../../src/ml/train/preprocess.ts';

let tf: typeof tfType;
beforeAll(async () => {
  tf = await initBackend({ name: 'wasm' });
  await initBackend({ name: 'cpu' });
});

async function on<T>(backend: string, f: () => T): Promise<T> {
  await tf.setBackend(backend);
  return f();
}

function expectClose(a: ArrayLike<number>, b: ArrayLike<number>, tol: number, what: string) {
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]) / (1 + Math.abs(b[i])));
  expect(a.length, what).toBe(b.length);
  expect(worst, what).toBeLessThan(tol);
}

describe('fused wasm ops equal the standard ops on cpu', () => {
  for (const shape of [
    [3, 24, 24, 6],
    [2, 8, 8, 16],
    // Odd height and width (a last row and column in no window) and a channel count that is not a multiple of 4.
    [2, 9, 7, 5],
    // Every partial last vector (6: two channels, 5: one, 7: three channels again) and fewer channels than a vector.
    [2, 6, 6, 7],
    [2, 4, 6, 3],
  ] as [number, number, number, number][]) {
    it(`relu(maxPool2×2(x) + b), value and gradients, ${shape.join('×')}`, async () => {
      const compute = () =>
        tf.tidy(() => {
          const x = tf.randomNormal(shape, 0, 1, 'float32', 11) as tfType.Tensor4D;
          const b = tf.randomNormal([shape[3]], 0, 1, 'float32', 12);
          const pooled = [shape[0], Math.floor(shape[1] / 2), Math.floor(shape[2] / 2), shape[3]];
          const r = tf.randomNormal(pooled, 0, 1, 'float32', 13);
          const ops = opsFor(tf);
          const value = ops.poolBiasRelu(x, b);
          const grads = tf.grads((xx: tfType.Tensor, bb: tfType.Tensor) =>
            tf.sum(tf.mul(ops.poolBiasRelu(xx as tfType.Tensor4D, bb), r)),
          )([x, b]);
          return [value, ...grads].map((t) => t.dataSync().slice());
        });
      const [fused, standard] = [await on('wasm', compute), await on('cpu', compute)];
      for (const [i, a] of fused.entries()) expectClose(a, standard[i], 1e-5, `output ${i}`);
    });
  }

  for (const eps of [0, 1e-7]) {
    it(`softmax cross-entropy (eps ${eps}), value and gradient`, async () => {
      const compute = () =>
        tf.tidy(() => {
          const z = tf.mul(tf.randomNormal([16, 10], 0, 1, 'float32', 14), 4) as tfType.Tensor2D;
          const y = tf.tensor1d(
            Array.from({ length: 16 }, (_, i) => (i * 7) % 10),
            'int32',
          );
          const ops = opsFor(tf);
          return [ops.xent(z, y, eps), tf.grad((zz: tfType.Tensor) => ops.xent(zz as tfType.Tensor2D, y, eps))(z)].map(
            (t) => t.dataSync().slice(),
          );
        });
      const [fused, standard] = [await on('wasm', compute), await on('cpu', compute)];
      for (const [i, a] of fused.entries()) expectClose(a, standard[i], 1e-5, `output ${i}`);
    });
  }

  for (const ul of [false, true]) {
    it(`LeNet local training (${ul ? 'unlearning client, two heads' : 'normal client'}): wasm = cpu`, async () => {
      const ds = syntheticDataset(
        { classes: 10, train: 96, test: 1, height: 28, width: 28, channels: 1, noise: 30 },
        3,
      );
      const model = lenet(10);
      const data = {
        batches: new BatchMaker(ds.trainImages, ds.header, preprocessFor('mnist', 1)),
        headA: ds.trainLabels,
        headB: ds.trainLabels.map((l) => (l + 3) % 10),
      };
      const job = {
        round: 0,
        client: 0,
        weights: initWeights(model.specs, 5),
        head: ul ? initWeights(model.specs.slice(-2), 6) : undefined,
        indices: Int32Array.from({ length: 96 }, (_, i) => i),
        lr: 0.05,
        samples: 'all' as const,
        recipe: { localEpochs: 2, batchSize: 32, momentum: 0.9, weightDecay: 5e-4, seed: 1, augment: true },
      };
      const train = async () => {
        const before = tf.memory().numTensors;
        const r = await trainClient(tf, model, data, job);
        expect(tf.memory().numTensors).toBe(before);
        return r;
      };
      const [w, c] = [await on('wasm', train), await on('cpu', train)];
      expect(w.loss).toBeCloseTo(c.loss, 4);
      for (const [i, a] of w.weights.entries()) expectClose(a, c.weights[i], 2e-4, model.specs[i].name);
      for (const [i, a] of (w.head ?? []).entries()) expectClose(a, c.head![i], 2e-4, `head ${i}`);
    });
  }
});

describe('training-mode BatchNorm with its closed-form gradient', () => {
  it('equals differentiating tf.moments and tf.batchNorm, on every backend', async () => {
    for (const backend of ['cpu', 'wasm']) {
      await tf.setBackend(backend);
      const [custom, composite] = tf.tidy(() => {
        const x = tf.randomNormal([4, 5, 5, 3], 0.5, 2, 'float32', 21) as tfType.Tensor4D;
        const g = tf.randomNormal([3], 1, 0.2, 'float32', 22);
        const b = tf.randomNormal([3], 0, 0.2, 'float32', 23);
        const r = tf.randomNormal([4, 5, 5, 3], 0, 1, 'float32', 24);
        const viaOp = (xx: tfType.Tensor, gg: tfType.Tensor, bb: tfType.Tensor) => {
          const out = opsFor(tf).batchNormTrain(xx as tfType.Tensor4D, gg, bb, 1e-5);
          return tf.sum(tf.mul(out.y, r));
        };
        const viaAutodiff = (xx: tfType.Tensor, gg: tfType.Tensor, bb: tfType.Tensor) => {
          const { mean, variance } = tf.moments(xx, [0, 1, 2]);
          return tf.sum(tf.mul(tf.batchNorm(xx, mean, variance, bb, gg, 1e-5), r));
        };
        return [tf.grads(viaOp)([x, g, b]), tf.grads(viaAutodiff)([x, g, b])].map((gs) =>
          gs.map((t) => t.dataSync().slice()),
        );
      });
      for (const [i, a] of custom.entries()) expectClose(a, composite[i], 1e-4, `${backend} gradient ${i}`);
    }
  });
});
