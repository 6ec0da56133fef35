import type { KernelConfig, TensorInfo } from '@tensorflow/tfjs-core';
import { fedauKernels } from './fedau-module.ts';
import { addressOf, overBuiltIn, type WasmBackend } from './util.ts';

/**
 * BatchMatMul and _FusedMatMul (the dense layers: forward with bias and ReLU, and both gradients, which transpose an
 * operand) on fedau's own GEMM (kernels/gemm.ts). A transposed A is read through strides; B is packed into panels
 * of 8 columns (transposed on the way when asked), which stream through the cache. Other shapes (batch dimensions
 * that broadcast, other activations) keep tfjs-wasm's own kernels.
 */
export function batchMatMulConfig(): KernelConfig {
  return overBuiltIn('BatchMatMul', onHeap);
}

export function fusedMatMulConfig(): KernelConfig {
  return overBuiltIn('_FusedMatMul', onHeap);
}

interface MatMulArgs {
  inputs: { a: TensorInfo; b: TensorInfo; bias?: TensorInfo; preluActivationWeights?: TensorInfo };
  backend: WasmBackend;
  // biome-ignore lint/suspicious/noExplicitAny: tfjs passes kernel attrs untyped
  attrs: any;
}

/** The product on fedau's GEMM, or undefined for what it does not cover. */
function onHeap({ inputs, backend, attrs }: MatMulArgs): TensorInfo | undefined {
  const { a, b, bias, preluActivationWeights } = inputs;
  const activation = attrs.activation ?? 'linear';
  if (preluActivationWeights || (activation !== 'linear' && activation !== 'relu')) return undefined;
  if (a.dtype !== 'float32' || b.dtype !== 'float32' || (bias && bias.dtype !== 'float32')) return undefined;
  const { transposeA, transposeB } = attrs;
  const batchA = a.shape.slice(0, -2);
  const batchB = b.shape.slice(0, -2);
  const batches = batchA.reduce((x, y) => x * y, 1);
  if (batches !== batchB.reduce((x, y) => x * y, 1) || batchA.length !== batchB.length) return undefined;
  const [ar, ac] = a.shape.slice(-2);
  const [br, bc] = b.shape.slice(-2);
  const [m, k] = transposeA ? [ac, ar] : [ar, ac];
  const [kb, n] = transposeB ? [bc, br] : [br, bc];
  if (k !== kb || (bias && bias.shape.reduce((x, y) => x * y, 1) !== n)) return undefined;

  const kernels = fedauKernels(backend);
  const out = backend.makeOutput([...batchA, m, n], 'float32');
  const np = Math.ceil(n / 8) * 8;
  const packed = backend.wasm._malloc(k * np * 4);
  const [aAt, bAt, cAt] = [addressOf(backend, a), addressOf(backend, b), addressOf(backend, out)];
  const biasAt = bias ? addressOf(backend, bias) : 0;
  for (let i = 0; i < batches; i++) {
    kernels.packB(bAt + i * k * n * 4, packed, k, n, np, transposeB ? 1 : 0);
    kernels.gemm(
      aAt + i * m * k * 4,
      packed,
      cAt + i * m * n * 4,
      biasAt,
      m,
      n,
      k,
      transposeA ? 1 : k,
      transposeA ? m : 1,
      activation === 'relu' ? 1 : 0,
      0,
    );
  }
  backend.wasm._free(packed);
  return out;
}
