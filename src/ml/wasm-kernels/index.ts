import * as tf from '@tensorflow/tfjs-core';
import { conv2DBackpropFilterConfig } from './conv2d-backprop-filter.ts';

/** Kernels fedau adds to or replaces in tfjs-backend-wasm so that it can train, and train fast. */
export const WASM_KERNELS = [conv2DBackpropFilterConfig];

let registered = false;

/** Registers the kernels once per thread, replacing any built-in kernel of the same name. */
export function registerWasmKernels(): void {
  if (registered) return;
  for (const config of WASM_KERNELS) {
    if (tf.getKernel(config.kernelName, 'wasm')) tf.unregisterKernel(config.kernelName, 'wasm');
    tf.registerKernel(config);
  }
  registered = true;
}
