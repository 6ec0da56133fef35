import type * as tfType from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../src/ml/backends/backend.ts';
import { kernelVariant } from '../../src/ml/kernels/wasm/fedau-module.ts';
import type { KernelVariant } from '../../src/ml/kernels/wasm/kernel-variant.ts';
import { type Ops, opsFor, standardOps } from '../../src/ml/models/ops.ts';
import {
  CONV_CASES,
  convGrads,
  expectClose,
  expectNoLeaks as expectNoLeaksOn,
  MODEL_CONV_SHAPES,
  runOn,
} from './kernel-cases.ts';

/**
 * fedau's wasm kernels against the cpu backend, on every layer shape of the three models and on edge cases, for the
 * build this process runs (`variant`: the test file sets FEDAU_KERNELS before any kernel runs).
 */
export function wasmKernelSuite(variant: KernelVariant): void {
  let tf: typeof tfType;
  beforeAll(async () => {
    tf = await initBackend({ name: 'wasm' });
    await initBackend({ name: 'cpu' });
  });

  /** Runs `f` on a backend with the same random inputs; returns plain arrays. */
  const on = (backend: string, f: () => tfType.Tensor[]) => runOn(tf, backend, f);
  const expectNoLeaks = (f: () => void) => expectNoLeaksOn(tf, 'wasm', f);

  describe(`fedau wasm kernels (${variant} build) agree with the cpu backend`, () => {
    it('runs the build asked for', () => {
      expect(kernelVariant()).toBe(variant);
    });

    for (const c of CONV_CASES) {
      it(`Conv2D, Conv2DBackpropFilter and Conv2DBackpropInput: ${c.name}`, async () => {
        const grads = convGrads(tf, c);
        expectClose(await on('wasm', grads), await on('cpu', grads));
        await expectNoLeaks(() => tf.tidy(() => void grads()));
      });
    }

    // Tolerance: 1e-3 of 1 + |reference| per element; sums of up to 4 608 terms in another order differ by ~1e-5.
    for (const c of MODEL_CONV_SHAPES) {
      it(`output and gradients at the models' real shape: ${c.name} ${c.x.join('×')} * ${c.f.join('×')}`, async () => {
        const grads = convGrads(tf, c);
        expectClose(await on('wasm', grads), await on('cpu', grads));
      });
    }

    for (const p of [
      { name: '2×2 stride 2 (LeNet, AlexNet)', x: [2, 12, 12, 6], size: 2, stride: 2, pad: 'valid' as const },
      { name: '3×3 stride 2 same', x: [2, 9, 9, 4], size: 3, stride: 2, pad: 'same' as const },
    ]) {
      it(`MaxPoolGrad ${p.name}, including windows that are entirely ≤ 0`, async () => {
        const grads = () => {
          // Shifted negative: most windows hold only negative values, where the stock wasm kernel fails.
          const x = tf.sub(tf.randomUniform(p.x, 0, 1, 'float32', 4), 1.2) as tfType.Tensor4D;
          const y = tf.maxPool(x, p.size, p.stride, p.pad);
          const r = tf.randomNormal(y.shape, 0, 1, 'float32', 5);
          return [
            tf.grad((a: tfType.Tensor) => tf.sum(tf.mul(tf.maxPool(a as tfType.Tensor4D, p.size, p.stride, p.pad), r)))(
              x,
            ),
          ];
        };
        expectClose(await on('wasm', grads), await on('cpu', grads), 1e-6);
        await expectNoLeaks(() => tf.tidy(() => void grads()));
      });
    }

    it('BatchMatMul with every combination of transposed operands (dense-layer gradients)', async () => {
      const products = () => {
        const a = tf.randomNormal([3, 7, 5], 0, 1, 'float32', 6) as tfType.Tensor3D;
        const b = tf.randomNormal([3, 5, 4], 0, 1, 'float32', 7) as tfType.Tensor3D;
        const at = tf.transpose(a, [0, 2, 1]);
        const bt = tf.transpose(b, [0, 2, 1]);
        return [
          tf.matMul(a, b),
          tf.matMul(at, b, true, false),
          tf.matMul(a, bt, false, true),
          tf.matMul(at, bt, true, true),
          tf.matMul(a.reshape([21, 5]), bt.reshape([12, 5]), false, true),
        ];
      };
      expectClose(await on('wasm', products), await on('cpu', products), 1e-5);
      await expectNoLeaks(() => tf.tidy(() => void products()));
    });

    // Every dense layer of the three models (in → out), at a batch of 6: the GEMM's tiles of 4 rows and its single
    // rows, whole and padded column tiles, bias and ReLU in the forward pass, and both transposed products backward;
    // 20 → 7 has the bias's every partial vector (7 = 4 + 3 columns).
    for (const [inputs, outputs] of [
      [20, 7],
      [256, 120],
      [120, 84],
      [84, 10],
      [4096, 10],
      [512, 100],
    ]) {
      it(`a dense layer ${inputs} → ${outputs}: output (bias, ReLU) and both gradients`, async () => {
        const layer = () => {
          const x = tf.randomNormal([6, inputs], 0, 1, 'float32', 8) as tfType.Tensor2D;
          // Weights that give every output column both signs before the ReLU, so no column is masked to zero.
          const w = tf.randomNormal([inputs, outputs], 0, 1, 'float32', 9) as tfType.Tensor2D;
          const b = tf.randomNormal([outputs], 0, 0.1, 'float32', 10);
          const r = tf.randomNormal([6, outputs], 0, 1, 'float32', 11);
          const f = (xx: tfType.Tensor, ww: tfType.Tensor, bb: tfType.Tensor) =>
            tf.fused.matMul({ a: xx as tfType.Tensor2D, b: ww as tfType.Tensor2D, bias: bb, activation: 'relu' });
          return [f(x, w, b), ...tf.grads((xx, ww, bb) => tf.sum(tf.mul(f(xx, ww, bb), r)))([x, w, b])];
        };
        expectClose(await on('wasm', layer), await on('cpu', layer), 1e-4);
        await expectNoLeaks(() => tf.tidy(() => void layer()));
      });
    }

    // BatchNorm's [0, 1, 2] and the global average pool's [1, 2] (kernels/sum-rows.ts), column counts that take its
    // blocks of 16, of 4 and its scalar tail. Bit for bit against tfjs-wasm's own kernels, reached by moving the
    // reduced axes last (which is what they do themselves); values spread over six orders of magnitude, so a sum in
    // any other order would round differently.
    for (const [shape, axes, keepDims] of [
      [[2, 5, 7, 64], [0, 1, 2], false],
      [[3, 4, 6, 21], [1, 2], true],
      [[9, 19], [0], false],
      [[2, 3, 5, 7], [0, 1], true],
    ] as [number[], number[], boolean][]) {
      it(`Sum and Mean of ${shape.join('×')} over [${axes}]: tfjs-wasm's bytes`, async () => {
        const reductions = (direct: boolean) => () => {
          const scale = tf.exp(tf.randomUniform(shape, -7, 7, 'float32', 12));
          const x = tf.mul(tf.randomNormal(shape, 0, 1, 'float32', 13), scale);
          const perm = [...shape.keys()].filter((a) => !axes.includes(a)).concat(axes);
          const last = axes.map((_, i) => shape.length - axes.length + i);
          const moved = tf.transpose(x, perm);
          const reshape = (t: tfType.Tensor) => (keepDims ? tf.reshape(t, tf.sum(x, axes, true).shape) : t);
          return direct
            ? [tf.sum(x, axes, keepDims), tf.mean(x, axes, keepDims)]
            : [reshape(tf.sum(moved, last)), reshape(tf.mean(moved, last))];
        };
        const [ours, theirs] = [await on('wasm', reductions(true)), await on('wasm', reductions(false))];
        expect(ours.map((t) => [...t])).toEqual(theirs.map((t) => [...t]));
        await expectNoLeaks(() => tf.tidy(() => void reductions(true)()));
      });
    }

    // ResNet18's BatchNorm on fedau's kernels (kernels/batch-norm.ts) against the tfjs composition it replaces, both
    // on wasm: bit for bit, forward (y and the batch statistics) and backward (dx, dγ, dβ). 64 channels take the
    // vector path, 6 its scalar tail.
    for (const shape of [
      [2, 5, 6, 64],
      [3, 4, 4, 6],
    ]) {
      it(`BatchNorm (training) of ${shape.join('×')}: the composition's bytes, forward and backward`, async () => {
        const batchNorm = (ops: Ops) => () => {
          const c = shape[3];
          const x = tf.mul(
            tf.randomNormal(shape, 0.5, 2, 'float32', 14),
            tf.exp(tf.randomUniform([c], -3, 3, 'float32', 18)),
          );
          const gamma = tf.randomNormal([c], 1, 0.3, 'float32', 15);
          const beta = tf.randomNormal([c], 0, 0.3, 'float32', 16);
          const r = tf.randomNormal(shape, 0, 1, 'float32', 17);
          const { y, mean, variance } = ops.batchNormTrain(x as tfType.Tensor4D, gamma, beta, 1e-5);
          const grads = tf.grads((xx, gg, bb) => tf.sum(tf.mul(ops.batchNormTrain(xx as never, gg, bb, 1e-5).y, r)));
          return [y, mean, variance, ...grads([x, gamma, beta])];
        };
        const fused = await on('wasm', batchNorm(opsFor(tf)));
        const composed = await on('wasm', batchNorm(standardOps(tf)));
        expect(fused.map((t) => [...t])).toEqual(composed.map((t) => [...t]));
      });
    }
  });
}
