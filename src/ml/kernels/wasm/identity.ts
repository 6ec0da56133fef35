import type { KernelConfig, TensorInfo } from '@tensorflow/tfjs-core';
import { overBuiltIn, type WasmBackend } from './util.ts';

/**
 * Identity that shares the input's buffer (as the cpu backend and wasm's own Reshape do) instead of copying it.
 * tfjs keeps every tensor a gradient needs through Identity (clone), so the stock copying kernel doubled the
 * memory of a training step: a ResNet18 step at batch 128 did not fit in wasm's 4 GB heap. Sharing is safe
 * because tensors are immutable (fedau's SGD writes new buffers, never old ones).
 */
export function identityConfig(): KernelConfig {
  // Strings stay with the built-in kernel: they do not live on the wasm heap.
  return overBuiltIn('Identity', ({ inputs, backend }: { inputs: { x: TensorInfo }; backend: WasmBackend }) => {
    const { x } = inputs;
    if (x.dtype === 'string') return undefined;
    backend.incRef(x.dataId);
    return { dataId: x.dataId, shape: [...x.shape], dtype: x.dtype };
  });
}
