import type { KernelConfig, TensorInfo } from '@tensorflow/tfjs-core';
import { fedauKernels } from './fedau-module.ts';
import { addressOf, type WasmBackend } from './util.ts';

/** y = relu(maxPool2×2(x) + bias) in one pass, by fedau's own SIMD kernel (kernels/pool-bias-relu.ts). */
function poolBiasRelu({
  inputs,
  backend,
}: {
  inputs: { x: TensorInfo; bias: TensorInfo };
  backend: WasmBackend;
}): TensorInfo {
  const [N, H, W, C] = inputs.x.shape;
  const y = backend.makeOutput([N, H >> 1, W >> 1, C], 'float32');
  fedauKernels(backend).poolBiasRelu(
    addressOf(backend, inputs.x),
    addressOf(backend, inputs.bias),
    addressOf(backend, y),
    N,
    H,
    W,
    C,
  );
  return y;
}

/**
 * The gradient of y = relu(maxPool2×2(x) + bias) in one pass, by fedau's own SIMD kernel
 * (kernels/pool-bias-relu-grad.ts): where the ReLU is open, dy goes to the first maximum of the window, and dbias
 * sums it per channel. The forward pass records no argmax (it cost more in branch mispredictions than it saved
 * here): the gradient finds the window's maximum again.
 */
function poolBiasReluGrad({
  inputs,
  backend,
}: {
  inputs: { dy: TensorInfo; x: TensorInfo; y: TensorInfo };
  backend: WasmBackend;
}): TensorInfo[] {
  const [N, H, W, C] = inputs.x.shape;
  const dx = backend.makeOutput(inputs.x.shape, 'float32');
  const db = backend.makeOutput([C], 'float32');
  const sums = backend.wasm._malloc(C * 8);
  fedauKernels(backend).poolBiasReluGrad(
    addressOf(backend, inputs.dy),
    addressOf(backend, inputs.x),
    addressOf(backend, inputs.y),
    addressOf(backend, dx),
    addressOf(backend, db),
    sums,
    N,
    H,
    W,
    C,
  );
  backend.wasm._free(sums);
  return [dx, db];
}

export const poolBiasReluConfigs: KernelConfig[] = [
  {
    kernelName: 'FedauPoolBiasRelu',
    backendName: 'wasm',
    kernelFunc: poolBiasRelu as unknown as KernelConfig['kernelFunc'],
  },
  {
    kernelName: 'FedauPoolBiasReluGrad',
    backendName: 'wasm',
    kernelFunc: poolBiasReluGrad as unknown as KernelConfig['kernelFunc'],
  },
];
