import { backend_util, type KernelConfig, type TensorInfo } from '@tensorflow/tfjs-core';
import { callKernel, dispose, type WasmBackend } from './util.ts';

/**
 * Conv2DBackpropFilter, which tfjs-backend-wasm 4.22 lacks. The filter gradient is itself a convolution in
 * which the batch axis plays the channel role:
 *   dW[kh,kw,ci,co] = Σ_n Σ_oh,ow x[n, oh·s+kh, ow·s+kw, ci] · dy[n, oh, ow, co]
 * so x transposed to [Cin, H, W, N], convolved (XNNPACK) with dy transposed to [OH, OW, N, Cout] as the filter,
 * at dilation = the forward stride, gives [Cin, KH', KW', Cout]; slice to the kernel size and transpose back.
 */
function conv2DBackpropFilter({ inputs, backend, attrs }: { inputs: { x: TensorInfo; dy: TensorInfo }; backend: WasmBackend; attrs: any }): TensorInfo {
  const { x, dy } = inputs;
  // dW sums over the batch: large batches go in slices, so the transposed copies stay small (a ResNet18 step
  // at batch 128 would otherwise not fit in wasm32's 4 GB heap).
  const slices = batchSlices(x, BYTES_PER_SLICE);
  if (slices.length === 1) return filterGradOf(x, dy, backend, attrs);
  let total: TensorInfo | undefined;
  for (const [begin, size] of slices) {
    const xs = callKernel('Slice', backend, { x }, { begin: [begin, 0, 0, 0], size: [size, -1, -1, -1] });
    const dys = callKernel('Slice', backend, { x: dy }, { begin: [begin, 0, 0, 0], size: [size, -1, -1, -1] });
    const part = filterGradOf(xs, dys, backend, attrs);
    dispose(backend, xs, dys);
    if (total) {
      const sum = callKernel('Add', backend, { a: total, b: part });
      dispose(backend, total, part);
      total = sum;
    } else total = part;
  }
  return total!;
}

/** Bytes of input per slice of the batch for the gradient kernels. */
export const BYTES_PER_SLICE = 64 * 1024 * 1024;

/** [begin, size] ranges over the batch axis so that each range of `x` holds at most `bytes`. */
export function batchSlices(x: TensorInfo, bytes: number): [number, number][] {
  const n = x.shape[0];
  const perSample = (x.shape.slice(1).reduce((a, b) => a * b, 1) || 1) * 4;
  const size = Math.max(1, Math.min(n, Math.floor(bytes / perSample)));
  const out: [number, number][] = [];
  for (let b = 0; b < n; b += size) out.push([b, Math.min(size, n - b)]);
  return out;
}

function filterGradOf(x: TensorInfo, dy: TensorInfo, backend: WasmBackend, attrs: any): TensorInfo {
  const { strides, pad, dimRoundingMode, filterShape } = attrs;
  const info = backend_util.computeConv2DInfo(x.shape as [number, number, number, number], filterShape, strides, 1, pad, dimRoundingMode, false, 'channelsLast');
  const { top, bottom, left, right } = info.padInfo;
  const xT = callKernel('Transpose', backend, { x }, { perm: [3, 1, 2, 0] });
  const dyT = callKernel('Transpose', backend, { x: dy }, { perm: [1, 2, 0, 3] });
  const conv = callKernel('Conv2D', backend, { x: xT, filter: dyT }, {
    strides: [1, 1],
    pad: [[0, 0], [top, bottom], [left, right], [0, 0]],
    dataFormat: 'NHWC',
    dilations: [info.strideHeight, info.strideWidth],
  });
  dispose(backend, xT, dyT);
  let cropped = conv;
  if (conv.shape[1] !== info.filterHeight || conv.shape[2] !== info.filterWidth) {
    cropped = callKernel('Slice', backend, { x: conv }, { begin: [0, 0, 0, 0], size: [conv.shape[0], info.filterHeight, info.filterWidth, conv.shape[3]] });
    dispose(backend, conv);
  }
  const out = callKernel('Transpose', backend, { x: cropped }, { perm: [1, 2, 0, 3] });
  dispose(backend, cropped);
  return out;
}

export const conv2DBackpropFilterConfig: KernelConfig = {
  kernelName: 'Conv2DBackpropFilter',
  backendName: 'wasm',
  kernelFunc: conv2DBackpropFilter as unknown as KernelConfig['kernelFunc'],
};
