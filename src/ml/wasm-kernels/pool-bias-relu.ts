import type { KernelConfig, TensorInfo } from '@tensorflow/tfjs-core';
import { heapF32, type WasmBackend } from './util.ts';

function heapI32(backend: WasmBackend, t: TensorInfo): Int32Array {
  const { memoryOffset } = backend.dataIdMap.get(t.dataId);
  const size = t.shape.reduce((a, b) => a * b, 1);
  return backend.wasm.HEAP32.subarray(memoryOffset / 4, memoryOffset / 4 + size);
}

/**
 * y = relu(maxPool2×2(x) + bias), in one pass over the heap, also recording where each maximum was (the first
 * of its window), so that the gradient is a single scatter instead of MaxPoolGrad, ReLU and Add gradients.
 */
function poolBiasRelu({ inputs, backend }: { inputs: { x: TensorInfo; bias: TensorInfo }; backend: WasmBackend }): TensorInfo[] {
  const [N, H, W, C] = inputs.x.shape;
  const OH = Math.floor(H / 2);
  const OW = Math.floor(W / 2);
  const y = backend.makeOutput([N, OH, OW, C], 'float32');
  const arg = backend.makeOutput([N, OH, OW, C], 'int32');
  const x = heapF32(backend, inputs.x);
  const b = heapF32(backend, inputs.bias);
  const yv = heapF32(backend, y);
  const av = heapI32(backend, arg);
  let o = 0;
  for (let n = 0; n < N; n++) {
    for (let oh = 0; oh < OH; oh++) {
      for (let ow = 0; ow < OW; ow++) {
        const i00 = ((n * H + 2 * oh) * W + 2 * ow) * C;
        const i01 = i00 + C;
        const i10 = i00 + W * C;
        const i11 = i10 + C;
        for (let c = 0; c < C; c++, o++) {
          let best = x[i00 + c];
          let at = i00 + c;
          if (x[i01 + c] > best) { best = x[i01 + c]; at = i01 + c; }
          if (x[i10 + c] > best) { best = x[i10 + c]; at = i10 + c; }
          if (x[i11 + c] > best) { best = x[i11 + c]; at = i11 + c; }
          const v = best + b[c];
          yv[o] = v > 0 ? v : 0;
          av[o] = at;
        }
      }
    }
  }
  return [y, arg];
}

/** dx: dy routed to each window's maximum where the ReLU was open; dbias: the sum of those dy per channel. */
function poolBiasReluGrad({ inputs, backend, attrs }: { inputs: { dy: TensorInfo; y: TensorInfo; arg: TensorInfo }; backend: WasmBackend; attrs: any }): TensorInfo[] {
  const xShape = attrs.xShape as number[];
  const C = xShape[3];
  const dx = backend.makeOutput(xShape, 'float32');
  const db = backend.makeOutput([C], 'float32');
  const g = heapF32(backend, inputs.dy);
  const y = heapF32(backend, inputs.y);
  const arg = heapI32(backend, inputs.arg);
  const dxv = heapF32(backend, dx);
  const dbv = heapF32(backend, db);
  dxv.fill(0);
  const acc = new Float64Array(C);
  for (let i = 0, c = 0; i < g.length; i++) {
    if (y[i] > 0) {
      dxv[arg[i]] += g[i];
      acc[c] += g[i];
    }
    if (++c === C) c = 0;
  }
  dbv.set(acc);
  return [dx, db];
}

export const poolBiasReluConfigs: KernelConfig[] = [
  { kernelName: 'FedauPoolBiasRelu', backendName: 'wasm', kernelFunc: poolBiasRelu as unknown as KernelConfig['kernelFunc'] },
  { kernelName: 'FedauPoolBiasReluGrad', backendName: 'wasm', kernelFunc: poolBiasReluGrad as unknown as KernelConfig['kernelFunc'] },
];
