import type { KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';
import * as tf from '@tensorflow/tfjs-core';
import { backend_util } from '@tensorflow/tfjs-core';
import { fedauKernels, KERNEL_DISPATCH } from './fedau-module.ts';
import { addressOf, type WasmBackend } from './util.ts';

/**
 * Conv2D: a one-channel image at stride 1 without padding (LeNet's first layer) runs on fedau's own kernel
 * (kernels/conv-forward-one-channel.ts), vectorised across neighbouring output pixels; every other convolution
 * stays XNNPACK's (a packed GEMM, which wins when there are channels to pack). tfjs-wasm's own kernel is kept and
 * called for those, with its setup.
 */
export function conv2DConfig(): KernelConfig {
  const original = tf.getKernel('Conv2D', 'wasm')!;
  const kernelFunc = (args: {
    inputs: { x: TensorInfo; filter: TensorInfo };
    backend: WasmBackend;
    // biome-ignore lint/suspicious/noExplicitAny: tfjs passes kernel attrs untyped
    attrs: any;
  }) => {
    const { x, filter } = args.inputs;
    const { strides, pad, dilations, dimRoundingMode, dataFormat } = args.attrs;
    const info = backend_util.computeConv2DInfo(
      x.shape as [number, number, number, number],
      filter.shape as [number, number, number, number],
      strides,
      dilations,
      pad,
      dimRoundingMode,
      false,
      backend_util.convertConv2DDataFormat(dataFormat),
    );
    if (!oneChannelDirect(info)) return original.kernelFunc(args as never);
    const out = args.backend.makeOutput([info.batchSize, info.outHeight, info.outWidth, info.outChannels], 'float32');
    fedauKernels(args.backend).convForwardOneChannel(
      addressOf(args.backend, x),
      addressOf(args.backend, filter),
      addressOf(args.backend, out),
      info.batchSize,
      info.inHeight,
      info.inWidth,
      info.outHeight,
      info.outWidth,
      info.outChannels,
      info.filterHeight,
      info.filterWidth,
    );
    return out;
  };
  return {
    kernelName: 'Conv2D',
    backendName: 'wasm',
    setupFunc: original.setupFunc,
    kernelFunc: kernelFunc as unknown as KernelFunc,
  };
}

/** The shapes fedau's one-channel kernel computes: NHWC, one input channel, stride and dilation 1, no padding. */
function oneChannelDirect(info: backend_util.Conv2DInfo): boolean {
  const { top, bottom, left, right } = info.padInfo;
  return (
    KERNEL_DISPATCH.forwardOneChannel &&
    info.dataFormat === 'channelsLast' &&
    info.inChannels === 1 &&
    info.strideHeight === 1 &&
    info.strideWidth === 1 &&
    info.dilationHeight === 1 &&
    info.dilationWidth === 1 &&
    top + bottom + left + right === 0
  );
}
