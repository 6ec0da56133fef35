import { backend_util, type KernelConfig, type TensorInfo } from '@tensorflow/tfjs-core';
import { convFilterGradGemm } from './conv2d-gemm-grad.ts';
import { fedauKernels, KERNEL_DISPATCH } from './fedau-module.ts';
import { addressOf, type WasmBackend } from './util.ts';

/**
 * Conv2DBackpropFilter (which tfjs-backend-wasm 4.22 lacks), by fedau's own SIMD kernel (kernels/conv-filter-grad.ts)
 * on the wasm heap:
 *   dW[kh,kw,ci,co] = Σ_n Σ_oh,ow x[n, oh·s+kh−pt, ow·s+kw−pl, ci] · dy[n, oh, ow, co]
 * for the small channel counts where it is measured faster (LeNet: 2–3× on conv1 against a composition of XNNPACK
 * operators); larger layers (AlexNet, ResNet18) as GEMMs over im2col blocks (conv2d-gemm-grad.ts). Against that
 * composition (x and dy transposed, XNNPACK's convolution, one transpose back), the GEMMs measured (batch 32, one
 * thread) 0.35–0.65× its time at stride 2 and 0.1–0.15× on the strided 1×1 shortcuts; at stride 1, since the GEMM's
 * 4×8 tile (kernels/README.md, "Registers"), about 0.93× on ResNet18's first stage (64 channels), where the
 * composition was once the faster.
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
    return convFilterGradGemm(backend, x, dy, info);
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

export const conv2DBackpropFilterConfig: KernelConfig = {
  kernelName: 'Conv2DBackpropFilter',
  backendName: 'wasm',
  kernelFunc: conv2DBackpropFilter as unknown as KernelConfig['kernelFunc'],
};
