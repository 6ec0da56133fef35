import type { KernelConfig, KernelFunc, NamedAttrMap, TensorInfo } from '@tensorflow/tfjs-core';
import * as tf from '@tensorflow/tfjs-core';

/** The parts of the wasm backend that kernels use (the class is not exported with these members typed). */
export interface WasmBackend {
  wasm: {
    HEAPF32: Float32Array;
    HEAP32: Int32Array;
    /** The emscripten module's exports: its memory is the heap fedau's own kernels import. */
    asm: { memory: object };
    _malloc(bytes: number): number;
    _free(address: number): void;
  };
  dataIdMap: { get(dataId: object): { id: number; memoryOffset: number; shape: number[] } };
  makeOutput(shape: number[], dtype: 'float32' | 'int32'): TensorInfo;
  disposeData(dataId: object, force?: boolean): boolean;
  incRef(dataId: object): void;
}

/**
 * A wasm kernel that computes what `own` covers and hands every other call (own returns undefined) to tfjs-wasm's
 * built-in kernel of that name. The built-in's setupFunc, which binds its wasm function when the backend starts, is
 * kept. Read the registry before replacing the kernel in it (index.ts does).
 */
export function overBuiltIn<A>(kernelName: string, own: (args: A) => TensorInfo | undefined): KernelConfig {
  const builtIn = tf.getKernel(kernelName, 'wasm')!;
  const kernelFunc = (args: A) => own(args) ?? builtIn.kernelFunc(args as never);
  return {
    kernelName,
    backendName: 'wasm',
    setupFunc: builtIn.setupFunc,
    kernelFunc: kernelFunc as unknown as KernelFunc,
  };
}

/** Calls another registered wasm kernel; the caller must dispose what it returns. */
export function callKernel(
  name: string,
  backend: WasmBackend,
  inputs: Record<string, TensorInfo>,
  attrs: NamedAttrMap = {},
): TensorInfo {
  const kernel = tf.getKernel(name, 'wasm');
  if (!kernel) throw new Error(`wasm kernel ${name} is not registered`);
  return kernel.kernelFunc({ inputs, attrs, backend: backend as unknown as tf.KernelBackend }) as TensorInfo;
}

/** The heap address of a tensor's data (what fedau's own kernels take). */
export function addressOf(backend: WasmBackend, t: TensorInfo): number {
  return backend.dataIdMap.get(t.dataId).memoryOffset;
}

/** A Float32Array view of a tensor's data on the wasm heap (valid until the heap grows). */
export function heapF32(backend: WasmBackend, t: TensorInfo): Float32Array {
  const at = addressOf(backend, t) / 4;
  return backend.wasm.HEAPF32.subarray(at, at + t.shape.reduce((a, b) => a * b, 1));
}

export function dispose(backend: WasmBackend, ...tensors: TensorInfo[]): void {
  for (const t of tensors) backend.disposeData(t.dataId);
}
