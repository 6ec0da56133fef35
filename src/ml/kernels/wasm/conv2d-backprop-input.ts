import { backend_util, type KernelConfig, type TensorInfo } from '@tensorflow/tfjs-core';
import { fedauKernels, KERNEL_DISPATCH } from './fedau-module.ts';
import { addressOf, callKernel, dispose, heapF32, type WasmBackend } from './util.ts';

/**
 * Conv2DBackpropInput (tfjs-backend-wasm 4.22 runs it as a scalar loop). For small channel counts (LeNet's conv2,
 * Cin·Cout = 96) fedau's own kernel scatters each dy position's terms into dx (kernels/conv-input-grad.ts), which
 * does no work on padding; larger layers keep XNNPACK, whose packed GEMM wins there, on the identity that the input
 * gradient is a "full" convolution of dy with the filter flipped in both spatial axes and its channel axes swapped:
 *   dx[i] = Σ_k dy[i + top − k] · W[k]   =   conv(pad(dy), flip(W)ᵀ)
 * For stride s > 1, dy is first dilated (s−1 zeros between its rows and columns).
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
  return byConvolution(backend, dy, filter, info);
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

/** The input gradient as XNNPACK's convolution of dy (dilated for a stride > 1, padded) with flip(W)ᵀ. */
function byConvolution(
  backend: WasmBackend,
  dy: TensorInfo,
  filter: TensorInfo,
  info: backend_util.Conv2DInfo,
): TensorInfo {
  const [KH, KW, Cin, Cout] = filter.shape;
  const { batchSize: N, inHeight: H, inWidth: W } = info;
  const { strideHeight: sh, strideWidth: sw } = info;
  const { top, left } = info.padInfo;

  // flip(W)ᵀ: [KH, KW, Cout, Cin], spatially reversed. Small, so it is built in place on the heap.
  const flipped = backend.makeOutput([KH, KW, Cout, Cin], 'float32');
  let dyUsed = dy;
  if (sh > 1 || sw > 1) dyUsed = dilate(backend, dy, sh, sw);
  {
    const src = heapF32(backend, filter);
    const dst = heapF32(backend, flipped);
    for (let kh = 0; kh < KH; kh++)
      for (let kw = 0; kw < KW; kw++)
        for (let ci = 0; ci < Cin; ci++)
          for (let co = 0; co < Cout; co++)
            dst[(((KH - 1 - kh) * KW + (KW - 1 - kw)) * Cout + co) * Cin + ci] =
              src[((kh * KW + kw) * Cin + ci) * Cout + co];
  }
  const [, DH, DW] = dyUsed.shape;
  const padTop = KH - 1 - top;
  const padLeft = KW - 1 - left;
  const padBottom = H - DH + KH - 1 - padTop;
  const padRight = W - DW + KW - 1 - padLeft;
  let out: TensorInfo;
  if (padTop >= 0 && padLeft >= 0 && padBottom >= 0 && padRight >= 0) {
    out = callKernel(
      'Conv2D',
      backend,
      { x: dyUsed, filter: flipped },
      {
        strides: [1, 1],
        pad: [
          [0, 0],
          [padTop, padBottom],
          [padLeft, padRight],
          [0, 0],
        ],
        dataFormat: 'NHWC',
        dilations: [1, 1],
      },
    );
  } else {
    // Negative padding (a forward pad larger than the kernel): convolve, then crop.
    const ct = Math.max(0, padTop),
      cb = Math.max(0, padBottom),
      cl = Math.max(0, padLeft),
      cr = Math.max(0, padRight);
    const big = callKernel(
      'Conv2D',
      backend,
      { x: dyUsed, filter: flipped },
      {
        strides: [1, 1],
        pad: [
          [0, 0],
          [ct, cb],
          [cl, cr],
          [0, 0],
        ],
        dataFormat: 'NHWC',
        dilations: [1, 1],
      },
    );
    out = callKernel('Slice', backend, { x: big }, { begin: [0, ct - padTop, cl - padLeft, 0], size: [N, H, W, Cin] });
    dispose(backend, big);
  }
  dispose(backend, flipped);
  if (dyUsed !== dy) dispose(backend, dyUsed);
  return out;
}

/** dy with (s−1) zeros inserted between rows and columns: what a strided forward conv skipped. */
function dilate(backend: WasmBackend, dy: TensorInfo, sh: number, sw: number): TensorInfo {
  const [N, OH, OW, C] = dy.shape;
  const DH = (OH - 1) * sh + 1;
  const DW = (OW - 1) * sw + 1;
  const out = backend.makeOutput([N, DH, DW, C], 'float32');
  const src = heapF32(backend, dy);
  const dst = heapF32(backend, out);
  dst.fill(0);
  for (let n = 0; n < N; n++)
    for (let h = 0; h < OH; h++)
      for (let w = 0; w < OW; w++) {
        const s = ((n * OH + h) * OW + w) * C;
        const d = ((n * DH + h * sh) * DW + w * sw) * C;
        for (let c = 0; c < C; c++) dst[d + c] = src[s + c];
      }
  return out;
}

export const conv2DBackpropInputConfig: KernelConfig = {
  kernelName: 'Conv2DBackpropInput',
  backendName: 'wasm',
  kernelFunc: conv2DBackpropInput as unknown as KernelConfig['kernelFunc'],
};
