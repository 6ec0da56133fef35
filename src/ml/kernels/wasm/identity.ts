import type { KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';
import * as tf from '@tensorflow/tfjs-core';

/**
 * Identity that shares the input's buffer (as the cpu backend and wasm's own Reshape do) instead of copying it.
 * tfjs keeps every tensor a gradient needs through Identity (clone), so the stock copying kernel doubled the
 * memory of a training step: a ResNet18 step at batch 128 did not fit in wasm's 4 GB heap. Sharing is safe
 * because tensors are immutable (fedau's SGD writes new buffers, never old ones).
 */
export function identityConfig(): KernelConfig {
  const original = tf.getKernel('Identity', 'wasm')!;
  const kernelFunc = ({
    inputs,
    backend,
  }: {
    inputs: { x: TensorInfo };
    backend: { incRef(dataId: object): void };
  }) => {
    const { x } = inputs;
    if (x.dtype === 'string') return original.kernelFunc({ inputs, backend, attrs: {} } as never);
    backend.incRef(x.dataId);
    return { dataId: x.dataId, shape: [...x.shape], dtype: x.dtype };
  };
  return {
    kernelName: 'Identity',
    backendName: 'wasm',
    setupFunc: original.setupFunc,
    kernelFunc: kernelFunc as unknown as KernelFunc,
  };
}
