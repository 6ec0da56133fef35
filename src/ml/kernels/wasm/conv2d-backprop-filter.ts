import { backend_util, type KernelConfig, type TensorInfo } from '@tensorflow/tfjs-core';
import { convFilterGradGemm } from './conv2d-gemm-grad.ts';
import { fedauKernels, KERNEL_DISPATCH } from './fedau-module.ts';
import { addressOf, callKernel, dispose, type WasmBackend } from './util.ts';

/**
 * Conv2DBackpropFilter (which tfjs-backend-wasm 4.22 lacks), by fedau's own SIMD kernel (kernels/conv-filter-grad.ts)
 * on the wasm heap:
 *   dW[kh,kw,ci,co] = Σ_n Σ_oh,ow x[n, oh·s+kh−pt, ow·s+kw−pl, ci] · dy[n, oh, ow, co]
 * for the small channel counts where it is measured faster (LeNet: 2–3× on conv1); larger layers (AlexNet, ResNet18)
 * as GEMMs over im2col blocks (conv2d-gemm-grad.ts), except at stride 1 with fewer than 128 output channels
 * (ResNet18's first stage), where a composition of XNNPACK operators measured faster (0.7–0.8× for the GEMMs, whose
 * M is only Cout there). Against that composition, the GEMMs measured (batch 32, one thread) 0.9–1.0× its time at
 * stride 1 with 192–512 channels, 0.35–0.65× at stride 2, 0.1–0.15× on the strided 1×1 shortcuts. Measured
 * (batch 128 / 16, one thread): LeNet conv1 (Cin·Cout = 1·6) 2–3× the composition's speed, conv2 (6·16) 1–1.5×;
 * AlexNet conv2 (64·192) and conv4 0.6×, ResNet18's first block (64·64) even.
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
  if (info.inChannels * info.outChannels > KERNEL_DISPATCH.filterGradDirect) {
    const strided = info.strideHeight > 1 || info.strideWidth > 1;
    if (strided || info.outChannels >= KERNEL_DISPATCH.filterGradGemmMinCout) {
      return convFilterGradGemm(backend, x, dy, info);
    }
    return byConvolution(backend, x, dy, info);
  }
  return direct(backend, x, dy, filterShape, info);
}

/**
 * dy is read in place, whatever Cout. When Cout is not a multiple of 4 (LeNet's 6), a position's last vector reads
 * into the next position's channels (lanes the kernel never stores), and at dy's very last position up to 12 bytes
 * past its end: still inside the heap, where tfjs-wasm's allocator (dlmalloc) always keeps a chunk header or its top
 * chunk after an allocation. (This once copied dy to rows zero-padded to whole vectors: 0.2 ms of LeNet's step.)
 */
function direct(
  backend: WasmBackend,
  x: TensorInfo,
  dy: TensorInfo,
  filterShape: number[],
  info: backend_util.Conv2DInfo,
): TensorInfo {
  const out = backend.makeOutput(filterShape, 'float32');
  const co = info.outChannels;
  fedauKernels(backend).convFilterGrad(
    addressOf(backend, x),
    addressOf(backend, dy),
    addressOf(backend, out),
    info.batchSize,
    info.inHeight,
    info.inWidth,
    info.inChannels,
    info.outHeight,
    info.outWidth,
    co,
    Math.ceil(co / 4) * 4,
    info.filterHeight,
    info.filterWidth,
    info.strideHeight,
    info.strideWidth,
    info.padInfo.top,
    info.padInfo.left,
  );
  return out;
}

/**
 * The filter gradient is itself a convolution in which the batch axis plays the channel role: x transposed to
 * [Cin, H, W, N], convolved (XNNPACK) with dy transposed to [OH, OW, N, Cout] as the filter, at dilation = the
 * forward stride, gives [Cin, KH', KW', Cout]; slice to the kernel size and transpose back.
 */
function byConvolution(backend: WasmBackend, x: TensorInfo, dy: TensorInfo, info: backend_util.Conv2DInfo) {
  const { top, bottom, left, right } = info.padInfo;
  const xT = callKernel('Transpose', backend, { x }, { perm: [3, 1, 2, 0] });
  const dyT = callKernel('Transpose', backend, { x: dy }, { perm: [1, 2, 0, 3] });
  const conv = callKernel(
    'Conv2D',
    backend,
    { x: xT, filter: dyT },
    {
      strides: [1, 1],
      pad: [
        [0, 0],
        [top, bottom],
        [left, right],
        [0, 0],
      ],
      dataFormat: 'NHWC',
      dilations: [info.strideHeight, info.strideWidth],
    },
  );
  dispose(backend, xT, dyT);
  let cropped = conv;
  if (conv.shape[1] !== info.filterHeight || conv.shape[2] !== info.filterWidth) {
    cropped = callKernel(
      'Slice',
      backend,
      { x: conv },
      { begin: [0, 0, 0, 0], size: [conv.shape[0], info.filterHeight, info.filterWidth, conv.shape[3]] },
    );
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
