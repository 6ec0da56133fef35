import type { KernelConfig } from '@tensorflow/tfjs-core';
import * as tf from '@tensorflow/tfjs-core';
import { batchMatMulConfig, fusedMatMulConfig } from './batch-mat-mul.ts';
import { batchNormConfigs } from './batch-norm.ts';
import { conv2DConfig } from './conv2d.ts';
import { conv2DBackpropFilterConfig } from './conv2d-backprop-filter.ts';
import { conv2DBackpropInputConfig } from './conv2d-backprop-input.ts';
import { identityConfig } from './identity.ts';
import { maxPoolGradConfig } from './max-pool-grad.ts';
import { poolBiasReluConfigs } from './pool-bias-relu.ts';
import { softmaxXentConfigs } from './softmax-xent.ts';
import { meanConfig, sumConfig } from './sum-mean.ts';

/** Kernels fedau adds to or replaces in tfjs-backend-wasm so that it can train, and train fast. */
export function wasmKernels(): KernelConfig[] {
  return [
    conv2DConfig(),
    conv2DBackpropFilterConfig,
    conv2DBackpropInputConfig,
    maxPoolGradConfig,
    batchMatMulConfig(),
    fusedMatMulConfig(),
    identityConfig(),
    ...poolBiasReluConfigs,
    ...softmaxXentConfigs,
    sumConfig(),
    meanConfig(),
    ...batchNormConfigs,
  ];
}

let registered = false;

/** Registers the kernels once per thread, replacing any built-in kernel of the same name. */
export function registerWasmKernels(): void {
  if (registered) return;
  // Built from the current registry first: the Conv2D, BatchMatMul, Identity, Sum and Mean wrappers call the
  // built-ins.
  for (const config of wasmKernels()) {
    if (tf.getKernel(config.kernelName, 'wasm')) tf.unregisterKernel(config.kernelName, 'wasm');
    tf.registerKernel(config);
  }
  registered = true;
}
