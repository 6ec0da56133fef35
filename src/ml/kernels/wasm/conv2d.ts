import type { KernelConfig, TensorInfo } from '@tensorflow/tfjs-core';
import { backend_util } from '@tensorflow/tfjs-core';
import { convForwardGemm } from './conv2d-gemm.ts';
import { fedauKernels, KERNEL_DISPATCH } from './fedau-module.ts';
import { addressOf, overBuiltIn, type WasmBackend } from './util.ts';

/**
 * Conv2D: unpadded stride-1 convolutions with few channels run on fedau's own kernels: a one-channel image (LeNet's
 * first layer) vectorised across neighbouring output pixels (kernels/conv-forward-one-channel.ts), a few channels
 * (LeNet's second) across output channels (kernels/conv-forward-direct.ts). Wide layers (Cin·Cout above the dispatch
 * rule, any stride and padding) run as im2col + fedau's GEMM (conv2d-gemm.ts). What is left (AlexNet's and
 * ResNet18's 3-channel first layers) stays XNNPACK's: tfjs-wasm's own kernel is kept and called for those.
 */
export function conv2DConfig(): KernelConfig {
  return overBuiltIn(
    'Conv2D',
    (args: {
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
      const route = direct(info);
      if (route === 'gemm') return convForwardGemm(args.backend, x, filter, info);
      if (!route) return undefined;
      const out = args.backend.makeOutput([info.batchSize, info.outHeight, info.outWidth, info.outChannels], 'float32');
      const kernels = fedauKernels(args.backend);
      const [xAt, wAt, yAt] = [x, filter, out].map((t) => addressOf(args.backend, t));
      const { batchSize: n, inHeight: h, inWidth: w, inChannels: ci, outHeight: oh, outWidth: ow } = info;
      const { outChannels: co, filterHeight: kh, filterWidth: kw } = info;
      if (route === 'one channel') kernels.convForwardOneChannel(xAt, wAt, yAt, n, h, w, oh, ow, co, kh, kw);
      else kernels.convForwardDirect(xAt, wAt, yAt, n, h, w, ci, oh, ow, co, kh, kw);
      return out;
    },
  );
}

/**
 * Which of fedau's kernels computes this convolution, if one does: the GEMM any NHWC one without dilation whose
 * Cin·Cout is above the dispatch rule; the direct ones need stride and dilation 1 and no padding, the one-channel
 * kernel a single input channel, the direct one few channels (Cin·Cout ≤ the dispatch rule) in multiples of 4
 * outputs.
 */
function direct(info: backend_util.Conv2DInfo): 'one channel' | 'few channels' | 'gemm' | undefined {
  const { top, bottom, left, right } = info.padInfo;
  const nhwc = info.dataFormat === 'channelsLast' && info.dilationHeight === 1 && info.dilationWidth === 1;
  if (nhwc && info.inChannels * info.outChannels > KERNEL_DISPATCH.forwardGemmAbove) return 'gemm';
  const plain =
    info.dataFormat === 'channelsLast' &&
    info.strideHeight === 1 &&
    info.strideWidth === 1 &&
    info.dilationHeight === 1 &&
    info.dilationWidth === 1 &&
    top + bottom + left + right === 0;
  if (!plain) return undefined;
  if (info.inChannels === 1 && KERNEL_DISPATCH.forwardOneChannel) return 'one channel';
  if (info.outChannels % 4 === 0 && info.inChannels * info.outChannels <= KERNEL_DISPATCH.forwardDirect) {
    return 'few channels';
  }
  return undefined;
}
