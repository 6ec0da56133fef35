import type * as tfType from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../src/ml/backend.ts';

let tf: typeof tfType;
beforeAll(async () => {
  tf = await initBackend({ name: 'wasm' });
  await initBackend({ name: 'cpu' });
});

type Pad = 'valid' | 'same' | number;
/** Conv layers of LeNet, AlexNet (CIFAR) and ResNet18 (CIFAR), with fewer channels and a small batch. */
const CONVS: {
  name: string;
  x: [number, number, number, number];
  f: [number, number, number, number];
  stride: number;
  pad: Pad;
}[] = [
  { name: 'lenet conv1 5×5 valid', x: [3, 28, 28, 1], f: [5, 5, 1, 6], stride: 1, pad: 'valid' },
  { name: 'lenet conv2 5×5 valid', x: [3, 12, 12, 6], f: [5, 5, 6, 16], stride: 1, pad: 'valid' },
  { name: 'alexnet conv1 5×5 pad 2', x: [2, 32, 32, 3], f: [5, 5, 3, 16], stride: 1, pad: 2 },
  { name: 'alexnet conv3 3×3 pad 1', x: [2, 8, 8, 24], f: [3, 3, 24, 32], stride: 1, pad: 1 },
  { name: 'resnet 3×3 stride 1 pad 1', x: [2, 8, 8, 16], f: [3, 3, 16, 16], stride: 1, pad: 1 },
  { name: 'resnet 3×3 stride 2 pad 1', x: [2, 16, 16, 16], f: [3, 3, 16, 32], stride: 2, pad: 1 },
  { name: 'resnet 1×1 stride 2 shortcut', x: [2, 16, 16, 16], f: [1, 1, 16, 32], stride: 2, pad: 0 },
  { name: '3×3 stride 2 same, odd size', x: [2, 7, 9, 4], f: [3, 3, 4, 5], stride: 2, pad: 'same' },
];

/** Runs `f` on a backend with the same random inputs; returns plain arrays. */
async function on(backend: string, f: () => tfType.Tensor[]): Promise<number[][]> {
  await tf.setBackend(backend);
  return tf.tidy(() => f().map((t) => Array.from(t.dataSync())));
}

function expectClose(a: number[][], b: number[][], tol = 1e-3) {
  a.forEach((arr, i) => {
    let worst = 0;
    for (let j = 0; j < arr.length; j++) worst = Math.max(worst, Math.abs(arr[j] - b[i][j]) / (1 + Math.abs(b[i][j])));
    expect(worst, `output ${i}`).toBeLessThan(tol);
  });
}

/** Counts tensors and backend buffers, so a kernel that forgets to free an intermediate fails. */
async function expectNoLeaks(f: () => void) {
  await tf.setBackend('wasm');
  const before = [tf.memory().numTensors, (tf.engine().backend as unknown as { numDataIds(): number }).numDataIds()];
  f();
  expect([tf.memory().numTensors, (tf.engine().backend as unknown as { numDataIds(): number }).numDataIds()]).toEqual(
    before,
  );
}

describe('fedau wasm kernels agree with the cpu backend', () => {
  for (const c of CONVS) {
    it(`Conv2DBackpropFilter and Conv2DBackpropInput: ${c.name}`, async () => {
      const grads = () => {
        const x = tf.randomNormal(c.x, 0, 1, 'float32', 1) as tfType.Tensor4D;
        const f = tf.randomNormal(c.f, 0, 0.5, 'float32', 2) as tfType.Tensor4D;
        const pad =
          typeof c.pad === 'number'
            ? ([
                [0, 0],
                [c.pad, c.pad],
                [c.pad, c.pad],
                [0, 0],
              ] as [[number, number], [number, number], [number, number], [number, number]])
            : c.pad;
        const y = tf.conv2d(x, f, c.stride, pad);
        const r = tf.randomNormal(y.shape, 0, 1, 'float32', 3);
        return tf.grads((a: tfType.Tensor, b: tfType.Tensor) =>
          tf.sum(tf.mul(tf.conv2d(a as tfType.Tensor4D, b as tfType.Tensor4D, c.stride, pad), r)),
        )([x, f]);
      };
      expectClose(await on('wasm', grads), await on('cpu', grads));
      await expectNoLeaks(() => tf.tidy(() => void grads()));
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
});
