import type { KernelConfig, TensorInfo } from '@tensorflow/tfjs-core';
import { fedauKernels } from './fedau-module.ts';
import { addressOf, type WasmBackend } from './util.ts';

/**
 * The gradient of y = relu(maxPool2×2(x) + bias) in one pass, by fedau's own SIMD kernel
 * (kernels/pool-bias-relu-grad.ts): where the ReLU is open, dy goes to the first maximum of the window, and dbias
 * sums it per channel. The forward pass stays XNNPACK's max-pool (SIMD): an argmax recorded there cost more in
 * branch mispredictions than it saves here.
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
    kernelName: 'FedauPoolBiasReluGrad',
    backendName: 'wasm',
    kernelFunc: poolBiasReluGrad as unknown as KernelConfig['kernelFunc'],
  },
];
