import type * as tfType from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../src/ml/backends/backend.ts';
import { crossEntropy, twoHeadLoss } from '../../src/ml/train/losses.ts';

let tf: typeof tfType;
beforeAll(async () => {
  tf = await initBackend({ name: 'cpu' });
});

const softmax = (row: number[]) => {
  const m = Math.max(...row);
  const e = row.map((v) => Math.exp(v - m));
  const s = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / s);
};

describe('losses', () => {
  const a = [
    [2, -1, 0.5],
    [0, 0, 0],
  ];
  const b = [
    [-0.5, 1.5, 0.1],
    [3, -2, 1],
  ];
  const yA = [0, 2];
  const yB = [1, 0];
  const eps = 1e-7;

  it('two-headed loss equals -mean log(p[yA]+ε) - mean log(q[yB]+ε), each head with its own softmax', () => {
    const byHand =
      -(a.reduce((s, row, i) => s + Math.log(softmax(row)[yA[i]] + eps), 0) / 2) -
      b.reduce((s, row, i) => s + Math.log(softmax(row)[yB[i]] + eps), 0) / 2;
    const got = tf.tidy(
      () =>
        twoHeadLoss(
          tf,
          tf.tensor2d(a),
          tf.tensor2d(b),
          tf.tensor1d(yA, 'int32'),
          tf.tensor1d(yB, 'int32'),
        ).dataSync()[0],
    );
    expect(got).toBeCloseTo(byHand, 5);
  });

  it('its gradient w.r.t. each head is -(1/B)·p_y(δ_jy − p_j)/(p_y+ε) of that head only', () => {
    const handGrad = (logits: number[][], y: number[]) =>
      logits.map((row, i) => {
        const p = softmax(row);
        return row.map((_, j) => (-(1 / logits.length) * p[y[i]] * ((j === y[i] ? 1 : 0) - p[j])) / (p[y[i]] + eps));
      });
    const [ga, gb] = tf.tidy(() => {
      const f = (x: tfType.Tensor, z: tfType.Tensor) =>
        twoHeadLoss(tf, x as tfType.Tensor2D, z as tfType.Tensor2D, tf.tensor1d(yA, 'int32'), tf.tensor1d(yB, 'int32'));
      return tf
        .grads(f)([tf.tensor2d(a), tf.tensor2d(b)])
        .map((g) => g.arraySync() as number[][]);
    });
    const close = (x: number[][], y: number[][]) => {
      for (const [i, v] of x.flat().entries()) expect(v).toBeCloseTo(y.flat()[i], 5);
    };
    close(ga, handGrad(a, yA));
    close(gb, handGrad(b, yB));
  });

  it('cross-entropy matches -mean log softmax[y]', () => {
    const byHand = -a.reduce((s, row, i) => s + Math.log(softmax(row)[yA[i]]), 0) / 2;
    expect(tf.tidy(() => crossEntropy(tf, tf.tensor2d(a), tf.tensor1d(yA, 'int32')).dataSync()[0])).toBeCloseTo(
      byHand,
      5,
    );
  });
});
