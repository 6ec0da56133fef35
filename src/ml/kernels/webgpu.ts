// fedau's kernels for tfjs's WebGPU backend, where its own are slow enough to dominate a training step.
import type * as tfType from '@tensorflow/tfjs';

type TensorInfo = tfType.TensorInfo;
interface KernelBackend {
  disposeData(dataId: object): void;
}
type KernelFunc = (args: { inputs: Record<string, TensorInfo>; backend: KernelBackend; attrs?: object }) => TensorInfo;

/** Bytes of patches built at once: memory stays bounded at any batch (ResNet18 at 128 would need 300 MB). */
const PATCH_BYTES = 64 * 1024 * 1024;

/**
 * The filter gradient as one matrix product per slice of the batch. tfjs's WebGPU Conv2DBackpropFilter runs one
 * GPU thread per filter element, each looping over the whole batch and image: on ResNet18's 3×3×64×64 layer it
 * took seventeen times its forward convolution. The same sum is a product of the input's patches with the output
 * gradient, which tfjs runs as a tiled matrix product:
 *   dW[kh, kw, ci, co] = Σ_{n, i, j} x[n, s·i + kh − top, s·j + kw − left, ci] · dy[n, i, j, co]
 *                      = patches(x)ᵀ · dy, patches(x) = [n·i·j, (kh, kw, ci)] (one strided slice per kh, kw).
 * Sums run in another order than tfjs's, so results agree with the cpu backend to float precision, not bit for
 * bit; the order is fixed, so the same inputs give the same bytes.
 */
function conv2dBackpropFilterAsMatMul(tf: typeof tfType): KernelFunc {
  const kernel = (name: string) => tf.getKernel(name, 'webgpu')!.kernelFunc as unknown as KernelFunc;
  const [pad, stridedSlice, concat, reshape, batchMatMul, add] = [
    'PadV2',
    'StridedSlice',
    'Concat',
    'Reshape',
    'BatchMatMul',
    'Add',
  ].map(kernel);
  return ({ inputs, backend, attrs }) => {
    const { x, dy } = inputs;
    const a = attrs as {
      strides: [number, number] | number;
      pad: 'valid' | 'same' | number | [[number, number], [number, number], [number, number], [number, number]];
      dimRoundingMode?: 'floor' | 'round' | 'ceil';
      filterShape: [number, number, number, number];
    };
    const [n, , , ci] = x.shape;
    const info = tf.backend_util.computeConv2DInfo(
      x.shape as [number, number, number, number],
      a.filterShape,
      a.strides,
      1,
      a.pad,
      a.dimRoundingMode,
    );
    const { top, bottom, left, right } = info.padInfo;
    const { filterHeight: kh, filterWidth: kw, strideHeight: sh, strideWidth: sw, outHeight: oh, outWidth: ow } = info;
    const co = info.outChannels;
    const temporaries: TensorInfo[] = [];
    const slice = (t: TensorInfo, begin: number[], end: number[], strides: number[]) =>
      stridedSlice({
        inputs: { x: t },
        backend,
        attrs: { begin, end, strides, beginMask: 0, endMask: 0, ellipsisMask: 0, newAxisMask: 0, shrinkAxisMask: 0 },
      });
    const keep = (t: TensorInfo) => {
      temporaries.push(t);
      return t;
    };
    try {
      const padded =
        top + bottom + left + right > 0
          ? keep(
              pad({
                inputs: { x },
                backend,
                attrs: {
                  paddings: [
                    [0, 0],
                    [top, bottom],
                    [left, right],
                    [0, 0],
                  ],
                  constantValue: 0,
                },
              }),
            )
          : x;
      const perSample = oh * ow * kh * kw * ci * 4;
      const chunk = Math.max(1, Math.min(n, Math.floor(PATCH_BYTES / perSample)));
      let sum: TensorInfo | undefined;
      for (let b0 = 0; b0 < n; b0 += chunk) {
        const b1 = Math.min(n, b0 + chunk);
        const rows = (b1 - b0) * oh * ow;
        const slices: TensorInfo[] = [];
        for (let p = 0; p < kh; p++) {
          for (let q = 0; q < kw; q++) {
            const end = [b1, p + sh * (oh - 1) + 1, q + sw * (ow - 1) + 1, ci];
            slices.push(keep(slice(padded, [b0, p, q, 0], end, [1, sh, sw, 1])));
          }
        }
        const patches =
          slices.length === 1 ? slices[0] : keep(concat({ inputs: slices as never, backend, attrs: { axis: 3 } }));
        const lhs = keep(reshape({ inputs: { x: patches }, backend, attrs: { shape: [1, rows, kh * kw * ci] } }));
        const dyChunk = chunk === n ? dy : keep(slice(dy, [b0, 0, 0, 0], [b1, oh, ow, co], [1, 1, 1, 1]));
        const rhs = keep(reshape({ inputs: { x: dyChunk }, backend, attrs: { shape: [1, rows, co] } }));
        const part = keep(
          batchMatMul({ inputs: { a: lhs, b: rhs }, backend, attrs: { transposeA: true, transposeB: false } }),
        );
        sum = sum ? keep(add({ inputs: { a: sum, b: part }, backend })) : part;
      }
      return reshape({ inputs: { x: sum! }, backend, attrs: { shape: [kh, kw, ci, co] } });
    } finally {
      for (const t of temporaries) backend.disposeData(t.dataId);
    }
  };
}

// tfjs's WebGPU matrix-product programs (webgpu_util.MatMulProgramType).
const MATMUL_PROGRAM = 'WEBGPU_MATMUL_PROGRAM_TYPE';
const SMALL_OUTPUT_SIZE_PROGRAM = 2;

/**
 * A matrix product that never splits its inner dimension across threads. tfjs picks its split-K program for a
 * small output with a long inner dimension (AlexNet's 4096 → 10 classifier, a filter gradient): its threads add
 * their partial sums with atomics, in whatever order they finish, so the same inputs give different bytes from
 * run to run. The wrapper replays tfjs's choice and, where it would split K, asks for the small-output program,
 * which sums each output in one thread, in a fixed order.
 */
function deterministicMatMul(tf: typeof tfType, name: string): KernelFunc {
  const original = tf.getKernel(name, 'webgpu')!.kernelFunc as unknown as KernelFunc;
  const size = (shape: number[]) => shape.reduce((p, d) => p * d, 1);
  return (args) => {
    const env = tf.env();
    const { a, b } = args.inputs;
    const { transposeA, transposeB } = args.attrs as { transposeA: boolean; transposeB: boolean };
    const ra = a.shape.length;
    const rb = b.shape.length;
    const inner = transposeA ? a.shape[ra - 2] : a.shape[ra - 1];
    const outerA = transposeA ? a.shape[ra - 1] : a.shape[ra - 2];
    const outerB = transposeB ? b.shape[rb - 2] : b.shape[rb - 1];
    const batch = Math.max(size(a.shape.slice(0, -2)), size(b.shape.slice(0, -2)));
    const flag = env.getNumber('WEBGPU_THRESHOLD_TO_INCREASE_WORKGROUPS_FOR_MATMUL');
    const threshold =
      flag > 0
        ? flag
        : (args.backend as unknown as { thresholdToIncreaseWorkgroups: number }).thresholdToIncreaseWorkgroups;
    const workgroups = batch * Math.ceil(outerA / 32) * Math.ceil(outerB / 32);
    const few = workgroups <= threshold || (outerA <= 8 && workgroups <= threshold * 2);
    const splitK =
      env.getNumber(MATMUL_PROGRAM) < 0 && few && batch * outerA * outerB > 128 && batch === 1 && inner >= 2000;
    if (!splitK) return original(args);
    env.set(MATMUL_PROGRAM, SMALL_OUTPUT_SIZE_PROGRAM);
    try {
      return original(args);
    } finally {
      env.set(MATMUL_PROGRAM, -1);
    }
  };
}

/** Replaces tfjs's WebGPU kernels fedau supplies its own for; call after the backend is registered. */
export function registerWebGpuKernels(tf: typeof tfType): void {
  const replace = (kernelName: string, kernelFunc: KernelFunc) => {
    tf.unregisterKernel(kernelName, 'webgpu');
    tf.registerKernel({ kernelName, backendName: 'webgpu', kernelFunc: kernelFunc as unknown as tfType.KernelFunc });
  };
  // The matrix products first: the filter gradient below is built on the deterministic one.
  for (const name of ['BatchMatMul', '_FusedMatMul']) replace(name, deterministicMatMul(tf, name));
  replace('Conv2DBackpropFilter', conv2dBackpropFilterAsMatMul(tf));
}
