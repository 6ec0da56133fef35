import { backend_util, type KernelConfig, type TensorInfo } from '@tensorflow/tfjs-core';
import { addressOf, fedauKernels } from './fedau-module.ts';
import type { WasmBackend } from './util.ts';

/**
 * Conv2DBackpropFilter (which tfjs-backend-wasm 4.22 lacks), by fedau's own SIMD kernel (kernels/conv-filter-grad.ts)
 * on the wasm heap:
 *   dW[kh,kw,ci,co] = Σ_n Σ_oh,ow x[n, oh·s+kh−pt, ow·s+kw−pl, ci] · dy[n, oh, ow, co]
 * When Cout is not a multiple of 4 (LeNet's 6), dy is first copied to rows padded with zeros to whole vectors.
 */
function conv2DBackpropFilter({
  inputs,
  backend,
  attrs,
}: {
  inputs: { x: TensorInfo; dy: TensorInfo };
  backend: WasmBackend;
  // biome-ignore lint/suspicious/noExplicitAny: tfjs passes kernel attrs untyped
  attrs: any;
}): TensorInfo {
  const { x, dy } = inputs;
  const { strides, pad, dimRoundingMode, filterShape } = attrs;
  const info = backend_util.computeConv2DInfo(
    x.shape as [number, number, number, number],
    filterShape,
    strides,
    1,
    pad,
    dimRoundingMode,
    false,
    'channelsLast',
  );
  const kernels = fedauKernels(backend);
  const out = backend.makeOutput(filterShape, 'float32');
  const co = info.outChannels;
  const cop = Math.ceil(co / 4) * 4;
  const positions = info.batchSize * info.outHeight * info.outWidth;
  let dyAddress = addressOf(backend, dy.dataId);
  const scratch = cop === co ? 0 : backend.wasm._malloc(positions * cop * 4);
  if (scratch) {
    kernels.padChannels(dyAddress, scratch, positions, co, cop);
    dyAddress = scratch;
  }
  kernels.convFilterGrad(
    addressOf(backend, x.dataId),
    dyAddress,
    addressOf(backend, out.dataId),
    info.batchSize,
    info.inHeight,
    info.inWidth,
    info.inChannels,
    info.outHeight,
    info.outWidth,
    co,
    cop,
    info.filterHeight,
    info.filterWidth,
    info.strideHeight,
    info.strideWidth,
    info.padInfo.top,
    info.padInfo.left,
  );
  if (scratch) backend.wasm._free(scratch);
  return out;
}

export const conv2DBackpropFilterConfig: KernelConfig = {
  kernelName: 'Conv2DBackpropFilter',
  backendName: 'wasm',
  kernelFunc: conv2DBackpropFilter as unknown as KernelConfig['kernelFunc'],
};
