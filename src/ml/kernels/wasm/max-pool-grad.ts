import { backend_util, type KernelConfig, type TensorInfo } from '@tensorflow/tfjs-core';
import { heapF32, type WasmBackend } from './util.ts';

/**
 * MaxPoolGrad in one pass over the wasm heap: each output gradient goes to the first maximum of its window.
 * Replaces tfjs-backend-wasm 4.22's kernel, which is slow and wrong when a whole window is ≤ 0.
 */
function maxPoolGrad({
  inputs,
  backend,
  attrs,
}: {
  inputs: { dy: TensorInfo; input: TensorInfo };
  backend: WasmBackend;
  // biome-ignore lint/suspicious/noExplicitAny: tfjs passes kernel attrs untyped
  attrs: any;
}): TensorInfo {
  const { dy, input } = inputs;
  const { filterSize, strides, pad, dimRoundingMode } = attrs;
  const info = backend_util.computePool2DInfo(
    input.shape as [number, number, number, number],
    filterSize,
    strides,
    1,
    pad,
    dimRoundingMode,
  );
  const [N, H, W, C] = input.shape;
  const { outHeight: OH, outWidth: OW, filterHeight: FH, filterWidth: FW, strideHeight: SH, strideWidth: SW } = info;
  const { top, left } = info.padInfo;
  const out = backend.makeOutput(input.shape, 'float32');
  // Views are taken after makeOutput, which may grow (and so move) the heap.
  const x = heapF32(backend, input);
  const g = heapF32(backend, dy);
  const dx = heapF32(backend, out);
  dx.fill(0);
  for (let n = 0; n < N; n++) {
    for (let oh = 0; oh < OH; oh++) {
      const h0 = oh * SH - top;
      for (let ow = 0; ow < OW; ow++) {
        const w0 = ow * SW - left;
        const gBase = ((n * OH + oh) * OW + ow) * C;
        for (let c = 0; c < C; c++) {
          let best = -Infinity;
          let at = -1;
          for (let fh = 0; fh < FH; fh++) {
            const h = h0 + fh;
            if (h < 0 || h >= H) continue;
            for (let fw = 0; fw < FW; fw++) {
              const w = w0 + fw;
              if (w < 0 || w >= W) continue;
              const i = ((n * H + h) * W + w) * C + c;
              if (x[i] > best) {
                best = x[i];
                at = i;
              }
            }
          }
          if (at >= 0) dx[at] += g[gBase + c];
        }
      }
    }
  }
  return out;
}

export const maxPoolGradConfig: KernelConfig = {
  kernelName: 'MaxPoolGrad',
  backendName: 'wasm',
  kernelFunc: maxPoolGrad as unknown as KernelConfig['kernelFunc'],
};
