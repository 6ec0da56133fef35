import { backend_util, type KernelConfig, type TensorInfo, util } from '@tensorflow/tfjs-core';
import { fedauKernels } from './fedau-module.ts';
import { addressOf, overBuiltIn, type WasmBackend } from './util.ts';

/**
 * Sum and Mean over axes that are contiguous and leave the last axis (BatchNorm's statistics and its gradient over
 * [0, 1, 2], ResNet18's global average pool over [1, 2]) on fedau's kernel (kernels/sum-rows.ts), which sums the
 * rows in place, four vectors of channels at a time. tfjs-wasm transposes such a tensor first and then sums each
 * channel one float at a time: in ResNet18's step these reductions took 7 % of the time. The kernel adds each
 * channel's terms in the same order, from 0, and divides in float32 as tfjs-wasm does: the same bytes (tested).
 * Other reductions (over the last axis, int32) keep tfjs-wasm's kernels.
 */
export function sumConfig(): KernelConfig {
  return overBuiltIn('Sum', (args: ReduceArgs) => onHeap(args, false));
}

export function meanConfig(): KernelConfig {
  return overBuiltIn('Mean', (args: ReduceArgs) => onHeap(args, true));
}

interface ReduceArgs {
  inputs: { x: TensorInfo };
  backend: WasmBackend;
  attrs: { axis: number | number[]; keepDims: boolean };
}

/** The reduction on fedau's kernel, or undefined for what it does not cover. */
function onHeap({ inputs, backend, attrs }: ReduceArgs, mean: boolean): TensorInfo | undefined {
  const { x } = inputs;
  if (x.dtype !== 'float32') return undefined;
  const rank = x.shape.length;
  const axes = util.parseAxisParam(attrs.axis, x.shape).sort((a, b) => a - b);
  const first = axes[0];
  const last = axes[axes.length - 1];
  // One contiguous run of axes, and the last axis kept: x is [outer, rows, cols] without moving a float.
  if (axes.length === 0 || last - first !== axes.length - 1 || last >= rank - 1) return undefined;
  const size = (dims: number[]) => dims.reduce((a, b) => a * b, 1);
  const outer = size(x.shape.slice(0, first));
  const rows = size(x.shape.slice(first, last + 1));
  const cols = size(x.shape.slice(last + 1));
  if (rows === 0 || outer * cols === 0) return undefined;
  const kept = x.shape.filter((_, i) => !axes.includes(i));
  const shape = attrs.keepDims ? backend_util.expandShapeToKeepDim(kept, axes) : kept;
  const out = backend.makeOutput(shape, 'float32');
  fedauKernels(backend).sumRows(addressOf(backend, x), addressOf(backend, out), outer, rows, cols, mean ? 1 : 0);
  return out;
}
