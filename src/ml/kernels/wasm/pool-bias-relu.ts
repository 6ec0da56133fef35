import type { KernelConfig, TensorInfo } from '@tensorflow/tfjs-core';
import { heapF32, type WasmBackend } from './util.ts';

/**
 * The gradient of y = relu(maxPool2×2(x) + bias) in one pass: where the ReLU is open, dy goes to the first
 * maximum of the window, and dbias sums it per channel. The forward pass stays XNNPACK's max-pool (SIMD): an
 * argmax recorded there cost more in branch mispredictions than it saves here.
 */
function poolBiasReluGrad({
  inputs,
  backend,
}: {
  inputs: { dy: TensorInfo; x: TensorInfo; y: TensorInfo };
  backend: WasmBackend;
}): TensorInfo[] {
  const [N, H, W, C] = inputs.x.shape;
  const dx = backend.makeOutput(inputs.x.shape, 'float32');
  const db = backend.makeOutput([C], 'float32');
  const sums = gradLoop(
    heapF32(backend, inputs.dy),
    heapF32(backend, inputs.x),
    heapF32(backend, inputs.y),
    heapF32(backend, dx),
    N,
    H,
    W,
    C,
  );
  heapF32(backend, db).set(sums);
  return [dx, db];
}

// A function of typed arrays and numbers only, so that V8 compiles it monomorphically. Branch-free: whether the
// ReLU is open and which element is the maximum are data-dependent coin flips, so they are 0/1 factors, not
// branches. Non-overlapping 2×2 windows tile the input, so every dx element is written exactly once.
function gradLoop(
  g: Float32Array,
  x: Float32Array,
  y: Float32Array,
  dx: Float32Array,
  N: number,
  H: number,
  W: number,
  C: number,
): Float64Array {
  const OH = Math.floor(H / 2);
  const OW = Math.floor(W / 2);
  const sums = new Float64Array(C);
  if (OH * 2 !== H || OW * 2 !== W) dx.fill(0); // an odd last row or column belongs to no window
  let o = 0;
  for (let n = 0; n < N; n++) {
    for (let oh = 0; oh < OH; oh++) {
      for (let ow = 0; ow < OW; ow++) {
        const i00 = ((n * H + 2 * oh) * W + 2 * ow) * C;
        const i01 = i00 + C;
        const i10 = i00 + W * C;
        const i11 = i10 + C;
        for (let c = 0; c < C; c++, o++) {
          const v = g[o] * +(y[o] > 0);
          sums[c] += v;
          const x0 = x[i00 + c];
          const x1 = x[i01 + c];
          const x2 = x[i10 + c];
          const x3 = x[i11 + c];
          // Math.max returns one of its arguments exactly; the first maximum takes the gradient.
          const m = Math.max(Math.max(x0, x1), Math.max(x2, x3));
          const a0 = +(x0 === m);
          const a1 = +(x1 === m) * (1 - a0);
          const a2 = +(x2 === m) * (1 - a0 - a1);
          const a3 = 1 - a0 - a1 - a2;
          dx[i00 + c] = v * a0;
          dx[i01 + c] = v * a1;
          dx[i10 + c] = v * a2;
          dx[i11 + c] = v * a3;
        }
      }
    }
  }
  return sums;
}

export const poolBiasReluConfigs: KernelConfig[] = [
  {
    kernelName: 'FedauPoolBiasReluGrad',
    backendName: 'wasm',
    kernelFunc: poolBiasReluGrad as unknown as KernelConfig['kernelFunc'],
  },
];
