import type { KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';
import * as tf from '@tensorflow/tfjs-core';
import { callKernel, dispose, type WasmBackend } from './util.ts';

/**
 * BatchMatMul with transposed operands (every dense-layer gradient): the wasm kernel is fast only for plain
 * operands, so a transposed operand is materialised first (a cheap copy) and the built-in kernel does the rest.
 */
export function batchMatMulConfig(): KernelConfig {
  const original = tf.getKernel('BatchMatMul', 'wasm')!;
  const builtin = original.kernelFunc;
  const kernelFunc = ({
    inputs,
    backend,
    attrs,
  }: {
    inputs: { a: TensorInfo; b: TensorInfo };
    backend: WasmBackend;
    // biome-ignore lint/suspicious/noExplicitAny: tfjs passes kernel attrs untyped
    attrs: any;
  }) => {
    const { transposeA, transposeB } = attrs;
    if (!transposeA && !transposeB) return builtin({ inputs, backend, attrs } as never);
    const flip = (t: TensorInfo) =>
      callKernel('Transpose', backend, { x: t }, { perm: t.shape.length === 3 ? [0, 2, 1] : [1, 0] });
    const a = transposeA ? flip(inputs.a) : inputs.a;
    const b = transposeB ? flip(inputs.b) : inputs.b;
    const out = builtin({
      inputs: { a, b },
      backend,
      attrs: { ...attrs, transposeA: false, transposeB: false },
    } as never) as TensorInfo;
    if (a !== inputs.a) dispose(backend, a);
    if (b !== inputs.b) dispose(backend, b);
    return out;
  };
  // The built-in's setupFunc binds its wasm function when the backend starts: keep it.
  return {
    kernelName: 'BatchMatMul',
    backendName: 'wasm',
    setupFunc: original.setupFunc,
    kernelFunc: kernelFunc as unknown as KernelFunc,
  };
}
