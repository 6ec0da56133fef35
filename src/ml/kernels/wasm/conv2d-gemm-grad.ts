import type { backend_util, TensorInfo } from '@tensorflow/tfjs-core';
import { blockRows } from './conv2d-gemm.ts';
import { fedauKernels } from './fedau-module.ts';
import { addressOf, callKernel, dispose, heapF32, type WasmBackend } from './util.ts';

/**
 * A wide layer's input gradient as GEMM + col2im: a block of output positions' patch gradients dcols = dy·Wᵀ (dy's
 * rows read in place; W, [KH·KW·Cin × Cout], packed once as Wᵀ's panels), each added back where the forward pass's
 * im2col read it (kernels/im2col.ts). Any stride: unlike a convolution of dilated dy, no multiply-add meets a zero.
 */
export function convInputGradGemm(
  backend: WasmBackend,
  dy: TensorInfo,
  filter: TensorInfo,
  info: backend_util.Conv2DInfo,
): TensorInfo {
  const kernels = fedauKernels(backend);
  const { batchSize: n, inHeight: h, inWidth: w, inChannels: ci, outHeight: oh, outWidth: ow } = info;
  const { outChannels: co, filterHeight: kh, filterWidth: kw } = info;
  const out = backend.makeOutput([n, h, w, ci], 'float32');
  heapF32(backend, out).fill(0);
  const k = kh * kw * ci;
  const positions = n * oh * ow;
  const rows = blockRows(k);
  const panels = backend.wasm._malloc(co * Math.ceil(k / 8) * 8 * 4);
  const dcols = backend.wasm._malloc(Math.min(rows, positions) * k * 4);
  const [dyAt, dxAt] = [addressOf(backend, dy), addressOf(backend, out)];
  const { top, left } = info.padInfo;
  try {
    kernels.packB(addressOf(backend, filter), panels, co, k, Math.ceil(k / 8) * 8, 1);
    for (let p0 = 0; p0 < positions; p0 += rows) {
      const m = Math.min(rows, positions - p0);
      kernels.gemm(dyAt + p0 * co * 4, panels, dcols, 0, m, k, co, co, 1, 0, 0);
      kernels.col2im(dcols, dxAt, h, w, ci, oh, ow, kh, kw, info.strideHeight, info.strideWidth, top, left, p0, m);
    }
  } finally {
    backend.wasm._free(dcols);
    backend.wasm._free(panels);
  }
  return out;
}

/** Output positions per block of the filter gradient: each block adds its sum to dW's Cout·K floats once. */
const FILTER_GRAD_ROWS = 256;

/**
 * A wide layer's filter gradient as GEMMs over blocks of output positions: dWᵀ += dyᵀ·cols, dy's rows read transposed
 * through strides, the block's patch rows (im2col) packed into the GEMM's panels, then dWᵀ transposed once. This
 * way round, a panel of patch columns stays in the L1 cache while dy's block (≤ 512 KB) streams from L2; large
 * blocks keep dW's own traffic small. Blocks go in order and each adds its sum: the same bytes on every run.
 */
export function convFilterGradGemm(
  backend: WasmBackend,
  x: TensorInfo,
  dy: TensorInfo,
  info: backend_util.Conv2DInfo,
): TensorInfo {
  const kernels = fedauKernels(backend);
  const { inHeight: h, inWidth: w, inChannels: ci, outHeight: oh, outWidth: ow } = info;
  const { outChannels: co, filterHeight: kh, filterWidth: kw } = info;
  const dwT = backend.makeOutput([co, kh, kw, ci], 'float32');
  const k = kh * kw * ci;
  const kp = Math.ceil(k / 8) * 8;
  const positions = info.batchSize * oh * ow;
  const rows = Math.min(FILTER_GRAD_ROWS, positions);
  const cols = backend.wasm._malloc(rows * k * 4);
  const panels = backend.wasm._malloc(rows * kp * 4);
  const [xAt, dyAt, dwAt] = [addressOf(backend, x), addressOf(backend, dy), addressOf(backend, dwT)];
  const { top, left } = info.padInfo;
  try {
    for (let p0 = 0; p0 < positions; p0 += rows) {
      const m = Math.min(rows, positions - p0);
      kernels.im2col(xAt, cols, h, w, ci, oh, ow, kh, kw, info.strideHeight, info.strideWidth, top, left, p0, m);
      kernels.packB(cols, panels, m, k, kp, 0);
      kernels.gemm(dyAt + p0 * co * 4, panels, dwAt, 0, co, k, m, 1, co, 0, p0 > 0 ? 1 : 0);
    }
  } finally {
    backend.wasm._free(panels);
    backend.wasm._free(cols);
  }
  const out = callKernel('Transpose', backend, { x: dwT }, { perm: [1, 2, 3, 0] });
  dispose(backend, dwT);
  return out;
}
