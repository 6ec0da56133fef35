import { backend_util, type KernelConfig, type TensorInfo } from '@tensorflow/tfjs-core';
import { convInputGradGemm } from './conv2d-gemm-grad.ts';
import { fedauKernels, KERNEL_DISPATCH } from './fedau-module.ts';
import { addressOf, type WasmBackend } from './util.ts';

/**
 * Conv2DBackpropInput (tfjs-backend-wasm 4.22 runs it as a scalar loop). For small channel counts (LeNet's conv2,
 * Cin·Cout = 96) fedau's own kernel scatters each dy position's terms into dx (kernels/conv-input-grad.ts), which
 * does no work on padding; larger layers (AlexNet, ResNet18) run as GEMM + col2im (conv2d-gemm-grad.ts), which does
 * no work on the zeros of a stride either. It replaced a "full" XNNPACK convolution of dilated dy with the flipped
 * filter: measured (batch 32, one thread) 0.9–1.1× its time at stride 1, 0.25–0.3× at stride 2.
 */
function conv2DBackpropInput({
  inputs,
  backend,
  attrs,
}: {
  inputs: { dy: TensorInfo; filter: TensorInfo };
  backend: WasmBackend;
  // biome-ignore lint/suspicious/noExplicitAny: tfjs passes kernel attrs untyped
  attrs: any;
}): TensorInfo {
  const { dy, filter } = inputs;
  const { strides, pad, dimRoundingMode, inputShape } = attrs;
  const info = backend_util.computeConv2DInfo(
    inputShape,
    filter.shape as [number, number, number, number],
    strides,
    1,
    pad,
    dimRoundingMode,
    false,
    'channelsLast',
  );
  if (info.inChannels * info.outChannels <= KERNEL_DISPATCH.inputGradDirect) return direct(backend, dy, filter, info);
  return convInputGradGemm(backend, dy, filter, info);
}

/** fedau's scatter kernel: the filter reordered into scratch rows, then one pass over dy. */
function direct(backend: WasmBackend, dy: TensorInfo, filter: TensorInfo, info: backend_util.Conv2DInfo): TensorInfo {
  const kernels = fedauKernels(backend);
  const [KH, KW, Cin, Cout] = filter.shape;
  const kp = Math.ceil((KW * Cin) / 16) * 16;
  const wt = backend.wasm._malloc((KH * Cout * kp + kp) * 4);
  const spill = wt + KH * Cout * kp * 4;
  kernels.convInputGradFilter(addressOf(backend, filter), wt, KH, KW, Cin, Cout, kp);
  const out = backend.makeOutput([info.batchSize, info.inHeight, info.inWidth, Cin], 'float32');
  kernels.convInputGrad(
    addressOf(backend, dy),
    wt,
    addressOf(backend, out),
    spill,
    info.batchSize,
    info.inHeight,
    info.inWidth,
    Cin,
    info.outHeight,
    info.outWidth,
    Cout,
    KH,
    KW,
    kp,
    info.strideHeight,
    info.strideWidth,
    info.padInfo.top,
    info.padInfo.left,
  );
  backend.wasm._free(wt);
  return out;
}

export const conv2DBackpropInputConfig: KernelConfig = {
  kernelName: 'Conv2DBackpropInput',
  backendName: 'wasm',
  kernelFunc: conv2DBackpropInput as unknown as KernelConfig['kernelFunc'],
};
