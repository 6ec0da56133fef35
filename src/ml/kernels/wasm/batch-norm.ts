import type { KernelConfig, TensorInfo } from '@tensorflow/tfjs-core';
import { fedauKernels } from './fedau-module.ts';
import { addressOf, type WasmBackend } from './util.ts';

/**
 * Training-mode BatchNorm's full-size passes on fedau's kernels (kernels/batch-norm.ts), for ops.ts: the variance
 * about a given mean, y = ((x − μ)·s)·γ + β, and the gradient's sums and input gradient. Each computes exactly the
 * float32 operations of the tfjs composition it replaces, in the same order: the same bytes (tested bit for bit).
 * x is NHWC, seen as [N·H·W rows, C]; per-channel vectors are [C].
 */
interface Args<I> {
  inputs: I;
  backend: WasmBackend;
}

const rowsAndChannels = (x: TensorInfo) => {
  const c = x.shape[x.shape.length - 1];
  return [x.shape.reduce((a, b) => a * b, 1) / c, c];
};

function variance({ inputs, backend }: Args<{ x: TensorInfo; mean: TensorInfo }>): TensorInfo {
  const [rows, c] = rowsAndChannels(inputs.x);
  const out = backend.makeOutput([c], 'float32');
  const at = (t: TensorInfo) => addressOf(backend, t);
  fedauKernels(backend).bnVariance(at(inputs.x), at(inputs.mean), at(out), rows, c);
  return out;
}

function apply({ inputs, backend }: Args<Record<'x' | 'mean' | 'inv' | 'gamma' | 'beta', TensorInfo>>): TensorInfo {
  const { x, mean, inv, gamma, beta } = inputs;
  const [rows, c] = rowsAndChannels(x);
  const y = backend.makeOutput(x.shape, 'float32');
  const at = (t: TensorInfo) => addressOf(backend, t);
  fedauKernels(backend).bnApply(at(x), at(mean), at(inv), at(gamma), at(beta), at(y), rows, c);
  return y;
}

function gradSums({ inputs, backend }: Args<Record<'x' | 'dy' | 'mean' | 'inv', TensorInfo>>): TensorInfo[] {
  const { x, dy, mean, inv } = inputs;
  const [rows, c] = rowsAndChannels(x);
  const [sumDy, sumDyXhat] = [backend.makeOutput([c], 'float32'), backend.makeOutput([c], 'float32')];
  const at = (t: TensorInfo) => addressOf(backend, t);
  fedauKernels(backend).bnGradSums(at(x), at(dy), at(mean), at(inv), at(sumDy), at(sumDyXhat), rows, c);
  return [sumDy, sumDyXhat];
}

function gradInput({
  inputs,
  backend,
}: Args<Record<'x' | 'dy' | 'mean' | 'inv' | 'coef' | 'sumDy' | 'sumDyXhat', TensorInfo>>): TensorInfo {
  const { x, dy, mean, inv, coef, sumDy, sumDyXhat } = inputs;
  const [rows, c] = rowsAndChannels(x);
  const dx = backend.makeOutput(x.shape, 'float32');
  const at = (t: TensorInfo) => addressOf(backend, t);
  const k = fedauKernels(backend);
  k.bnGradInput(at(x), at(dy), at(mean), at(inv), at(coef), at(sumDy), at(sumDyXhat), rows, at(dx), rows, c);
  return dx;
}

const config = (kernelName: string, kernelFunc: unknown): KernelConfig => ({
  kernelName,
  backendName: 'wasm',
  kernelFunc: kernelFunc as KernelConfig['kernelFunc'],
});

export const batchNormConfigs: KernelConfig[] = [
  config('FedauBnVariance', variance),
  config('FedauBnApply', apply),
  config('FedauBnGradSums', gradSums),
  config('FedauBnGradInput', gradInput),
];
