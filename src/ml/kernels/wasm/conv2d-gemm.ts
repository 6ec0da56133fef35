import type { backend_util, TensorInfo } from '@tensorflow/tfjs-core';
import { fedauKernels } from './fedau-module.ts';
import { addressOf, type WasmBackend } from './util.ts';

/** Bytes of patch rows per block: with a row of the filter's panel, they stay in the L2 cache while the GEMM runs. */
const BLOCK_BYTES = 256 * 1024;

/** Output positions per block: whole tiles of 4, the block's patch rows (k floats each) within BLOCK_BYTES. */
export const blockRows = (k: number) => Math.max(4, Math.floor(BLOCK_BYTES / (k * 4 * 4)) * 4);

/**
 * A wide layer's forward convolution as one GEMM (AlexNet's and ResNet18's 64–512 channels): the patch matrix of a
 * block of output positions (kernels/im2col.ts) times the filter, which as [KH·KW·Cin × Cout] is already a matrix,
 * packed once into the GEMM's panels. fedau's GEMM multiply-adds in one fused instruction where the CPU has FMA;
 * tfjs-wasm's XNNPACK build has none: 1.2–1.5× its convolution on these layers (measured at batch 16–32). Each
 * output sums its KH·KW·Cin terms in (r, s, c) order, whatever the block: the same bytes on every run.
 */
export function convForwardGemm(
  backend: WasmBackend,
  x: TensorInfo,
  filter: TensorInfo,
  info: backend_util.Conv2DInfo,
): TensorInfo {
  const kernels = fedauKernels(backend);
  const { batchSize: n, inHeight: h, inWidth: w, inChannels: ci, outHeight: oh, outWidth: ow } = info;
  const { outChannels: co, filterHeight: kh, filterWidth: kw } = info;
  const out = backend.makeOutput([n, oh, ow, co], 'float32');
  const k = kh * kw * ci;
  const np = Math.ceil(co / 8) * 8;
  const positions = n * oh * ow;
  const rows = blockRows(k);
  const panels = backend.wasm._malloc(k * np * 4);
  const cols = backend.wasm._malloc(Math.min(rows, positions) * k * 4);
  const [xAt, yAt] = [addressOf(backend, x), addressOf(backend, out)];
  try {
    kernels.packB(addressOf(backend, filter), panels, k, co, np, 0);
    for (let p0 = 0; p0 < positions; p0 += rows) {
      const m = Math.min(rows, positions - p0);
      const { top, left } = info.padInfo;
      kernels.im2col(xAt, cols, h, w, ci, oh, ow, kh, kw, info.strideHeight, info.strideWidth, top, left, p0, m);
      kernels.gemm(cols, panels, yAt + p0 * co * 4, 0, m, co, k, k, 1, 0, 0);
    }
  } finally {
    backend.wasm._free(cols);
    backend.wasm._free(panels);
  }
  return out;
}
