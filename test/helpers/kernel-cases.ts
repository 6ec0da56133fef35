import type * as tfType from '@tensorflow/tfjs';
import { expect } from 'vitest';

export type Pad = 'valid' | 'same' | number;

/** Conv layers of LeNet, AlexNet (CIFAR) and ResNet18 (CIFAR), with fewer channels and a small batch. */
export const CONV_CASES: {
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
  // The forward im2col + GEMM path (Cin·Cout > 256): padding on every side, stride 2, Cout 20 (a ragged panel).
  { name: '20 channels 3×3 stride 2 same, odd size', x: [2, 7, 9, 20], f: [3, 3, 20, 20], stride: 2, pad: 'same' },
  // The gradients' GEMMs (conv2d-gemm-grad.ts) at stride 1: 364 positions are two filter-gradient blocks (256 + 108)
  // and two input-gradient blocks (344 + 20); K = 189 and Cout = 130 leave ragged panels and tiles of 4 and 1.
  { name: '21→130 channels 3×3 same, several blocks', x: [2, 14, 13, 21], f: [3, 3, 21, 130], stride: 1, pad: 'same' },
  // LeNet on 3-channel images: the 5-tap filter-gradient kernel where a tap's neighbours are not consecutive floats.
  { name: 'lenet conv1 on 3 channels 5×5 valid', x: [2, 16, 16, 3], f: [5, 5, 3, 6], stride: 1, pad: 'valid' },
  // 12 output channels: fedau's filter-gradient kernel takes its 8-wide and its 4-wide blocks.
  { name: '3×3 stride 2 valid, 12 channels', x: [2, 11, 11, 3], f: [3, 3, 3, 12], stride: 2, pad: 'valid' },
  // One channel, 7 filters, 11 output columns: the one-channel forward kernel's blocks of 3 and 4 filters, and of
  // 8 pixels and a scalar tail; 5 filters: its blocks of 3 and 1.
  { name: 'one channel 3×3, 7 filters, odd width', x: [2, 9, 13, 1], f: [3, 3, 1, 7], stride: 1, pad: 'valid' },
  { name: 'one channel 3×3, 5 filters', x: [1, 6, 11, 1], f: [3, 3, 1, 5], stride: 1, pad: 'valid' },
  // Two channels, 20 filters, 7 output columns: the direct forward kernel's pairs of positions and its last single
  // one, its blocks of 16 output channels and of 4.
  { name: '2 channels 3×3, 20 filters, odd width', x: [2, 7, 9, 2], f: [3, 3, 2, 20], stride: 1, pad: 'valid' },
];

/**
 * Every convolution the three models train (LeNet on MNIST, AlexNet and ResNet18 on CIFAR) with its real channel
 * counts, kernel size, stride and padding, at batch 1. LeNet's and the first layers' images are their real size;
 * the wide layers' are cut to 3–8 pixels a side (their own is 4–32), which keeps every border case of the kernels
 * and lets the `cpu` backend compute the reference in seconds rather than minutes.
 */
export const MODEL_CONV_SHAPES: (typeof CONV_CASES)[number][] = [
  { name: 'lenet conv1', x: [1, 28, 28, 1], f: [5, 5, 1, 6], stride: 1, pad: 'valid' },
  { name: 'lenet conv2', x: [1, 12, 12, 6], f: [5, 5, 6, 16], stride: 1, pad: 'valid' },
  { name: 'alexnet conv1', x: [1, 32, 32, 3], f: [5, 5, 3, 64], stride: 1, pad: 2 },
  { name: 'alexnet conv2', x: [1, 8, 8, 64], f: [5, 5, 64, 192], stride: 1, pad: 2 },
  { name: 'alexnet conv3', x: [1, 4, 4, 192], f: [3, 3, 192, 384], stride: 1, pad: 1 },
  { name: 'alexnet conv4', x: [1, 4, 4, 384], f: [3, 3, 384, 256], stride: 1, pad: 1 },
  { name: 'alexnet conv5', x: [1, 4, 4, 256], f: [3, 3, 256, 256], stride: 1, pad: 1 },
  { name: 'resnet18 stem', x: [1, 32, 32, 3], f: [3, 3, 3, 64], stride: 1, pad: 1 },
  { name: 'resnet18 layer1', x: [1, 8, 8, 64], f: [3, 3, 64, 64], stride: 1, pad: 1 },
  { name: 'resnet18 layer2 down', x: [1, 8, 8, 64], f: [3, 3, 64, 128], stride: 2, pad: 1 },
  { name: 'resnet18 layer2', x: [1, 6, 6, 128], f: [3, 3, 128, 128], stride: 1, pad: 1 },
  { name: 'resnet18 layer2 shortcut', x: [1, 8, 8, 64], f: [1, 1, 64, 128], stride: 2, pad: 0 },
  { name: 'resnet18 layer3 down', x: [1, 8, 8, 128], f: [3, 3, 128, 256], stride: 2, pad: 1 },
  { name: 'resnet18 layer3', x: [1, 4, 4, 256], f: [3, 3, 256, 256], stride: 1, pad: 1 },
  { name: 'resnet18 layer3 shortcut', x: [1, 8, 8, 128], f: [1, 1, 128, 256], stride: 2, pad: 0 },
  { name: 'resnet18 layer4 down', x: [1, 4, 4, 256], f: [3, 3, 256, 512], stride: 2, pad: 1 },
  { name: 'resnet18 layer4', x: [1, 3, 3, 512], f: [3, 3, 512, 512], stride: 1, pad: 1 },
  { name: 'resnet18 layer4 shortcut', x: [1, 4, 4, 256], f: [1, 1, 256, 512], stride: 2, pad: 0 },
];

/** A convolution's output and the gradients of both its operands, from seeded random inputs. */
export function convGrads(tf: typeof tfType, c: (typeof CONV_CASES)[number]): () => tfType.Tensor[] {
  return () => {
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
    const grads = tf.grads((a: tfType.Tensor, b: tfType.Tensor) =>
      tf.sum(tf.mul(tf.conv2d(a as tfType.Tensor4D, b as tfType.Tensor4D, c.stride, pad), r)),
    )([x, f]);
    return [y, ...grads];
  };
}

/** Runs `f` on a backend; returns its outputs as plain arrays (read asynchronously, as a GPU backend needs). */
export async function runOn(tf: typeof tfType, backend: string, f: () => tfType.Tensor[]): Promise<number[][]> {
  await tf.setBackend(backend);
  const outs = f();
  try {
    return await Promise.all(outs.map(async (t) => Array.from(await t.data())));
  } finally {
    tf.dispose(outs);
  }
}

/** Every element within `tol`, relative to 1 + |expected|. */
export function expectClose(a: number[][], b: number[][], tol = 1e-3) {
  a.forEach((arr, i) => {
    let worst = 0;
    for (let j = 0; j < arr.length; j++) worst = Math.max(worst, Math.abs(arr[j] - b[i][j]) / (1 + Math.abs(b[i][j])));
    expect(worst, `output ${i}`).toBeLessThan(tol);
  });
}

/** Counts tensors and backend buffers, so a kernel that forgets to free an intermediate fails. */
export async function expectNoLeaks(tf: typeof tfType, backend: string, f: () => void) {
  await tf.setBackend(backend);
  const count = () => [
    tf.memory().numTensors,
    (tf.engine().backend as unknown as { numDataIds(): number }).numDataIds(),
  ];
  const before = count();
  f();
  expect(count()).toEqual(before);
}
