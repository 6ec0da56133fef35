import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FedauError } from '../../../core/errors.ts';
import { sha256 } from '../../../core/hash.ts';
import { chooseKernelVariant, KERNEL_FILES, type KernelVariant } from './kernel-variant.ts';
import type { WasmBackend } from './util.ts';

/**
 * fedau's own CPU kernels: WebAssembly with 128-bit SIMD, compiled from `kernels/` (AssemblyScript) by
 * `npm run build` into `dist/kernels/` (two builds: kernel-variant.ts says which one runs). The module imports
 * tfjs-wasm's memory, so a kernel reads its inputs and writes its output where tfjs keeps the tensors: nothing is
 * copied in or out.
 */
export interface FedauKernels {
  convFilterGrad(
    x: number,
    dy: number,
    dw: number,
    n: number,
    h: number,
    w: number,
    ci: number,
    oh: number,
    ow: number,
    co: number,
    cop: number,
    kh: number,
    kw: number,
    sh: number,
    sw: number,
    pt: number,
    pl: number,
  ): void;
  convInputGradFilter(w: number, wt: number, kh: number, kw: number, ci: number, co: number, kp: number): void;
  convInputGrad(
    dy: number,
    wt: number,
    dx: number,
    spill: number,
    n: number,
    h: number,
    w: number,
    ci: number,
    oh: number,
    ow: number,
    co: number,
    kh: number,
    kw: number,
    kp: number,
    sh: number,
    sw: number,
    pt: number,
    pl: number,
  ): void;
  convForwardDirect(
    x: number,
    w: number,
    y: number,
    n: number,
    h: number,
    iw: number,
    ci: number,
    oh: number,
    ow: number,
    co: number,
    kh: number,
    kw: number,
  ): void;
  convForwardOneChannel(
    x: number,
    w: number,
    y: number,
    n: number,
    h: number,
    iw: number,
    oh: number,
    ow: number,
    co: number,
    kh: number,
    kw: number,
  ): void;
  gemm(
    a: number,
    b: number,
    c: number,
    bias: number,
    m: number,
    n: number,
    k: number,
    rowStride: number,
    colStride: number,
    relu: number,
    accumulate: number,
  ): void;
  packB(src: number, dst: number, k: number, n: number, np: number, transposed: number): void;
  im2col(
    x: number,
    cols: number,
    h: number,
    w: number,
    c: number,
    oh: number,
    ow: number,
    kh: number,
    kw: number,
    sh: number,
    sw: number,
    pt: number,
    pl: number,
    p0: number,
    rows: number,
  ): void;
  col2im(
    dcols: number,
    dx: number,
    h: number,
    w: number,
    c: number,
    oh: number,
    ow: number,
    kh: number,
    kw: number,
    sh: number,
    sw: number,
    pt: number,
    pl: number,
    p0: number,
    rows: number,
  ): void;
  poolBiasRelu(x: number, bias: number, y: number, n: number, h: number, w: number, c: number): void;
  sumRows(x: number, out: number, outer: number, rows: number, cols: number, mean: number): void;
  bnVariance(x: number, mean: number, variance: number, rows: number, c: number): void;
  bnApply(x: number, mean: number, inv: number, gamma: number, beta: number, y: number, rows: number, c: number): void;
  bnGradSums(
    x: number,
    dy: number,
    mean: number,
    inv: number,
    sumDy: number,
    sumDyXhat: number,
    rows: number,
    c: number,
  ): void;
  bnGradInput(
    x: number,
    dy: number,
    mean: number,
    inv: number,
    coef: number,
    sumDy: number,
    sumDyXhat: number,
    count: number,
    dx: number,
    rows: number,
    c: number,
  ): void;
  poolBiasReluGrad(
    dy: number,
    x: number,
    y: number,
    dx: number,
    db: number,
    sums: number,
    n: number,
    h: number,
    w: number,
    c: number,
  ): void;
}

/** The part of the WebAssembly API used here (the DOM lib that types it is not in this project's tsconfig). */
interface WasmApi {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: unknown };
}
const { WebAssembly: wasmApi } = globalThis as unknown as { WebAssembly: WasmApi };

let compiled: object | undefined;
const instances = new WeakMap<object, FedauKernels>();

/** The package root: the nearest folder above this file with a package.json (the checkout, or the package). */
function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) {
    const up = dirname(dir);
    if (up === dir) throw new Error('fedau: no package.json above the kernels module');
    dir = up;
  }
  return dir;
}

/** The build this process runs, decided once per thread (every thread decides alike: same engine, same CPU). */
export function kernelVariant(): KernelVariant {
  variant ??= chooseKernelVariant(readKernels);
  return variant;
}
let variant: KernelVariant | undefined;

/** The compiled module, read once per thread: the cache key's fingerprint and the compile both use it. */
function kernelBytes(): Uint8Array {
  bytes ??= readKernels(kernelVariant());
  return bytes;
}
let bytes: Uint8Array | undefined;

function readKernels(which: KernelVariant): Uint8Array {
  const path = join(packageRoot(), KERNEL_FILES[which]);
  if (!existsSync(path)) {
    throw new FedauError('FEDAU_BACKEND', `fedau's CPU kernels are not built: ${path} is missing`, {
      hint: 'run `npm run build` in the checkout (it compiles kernels/ with AssemblyScript)',
    });
  }
  return readFileSync(path);
}

/**
 * Which layers take fedau's own kernels rather than a composition of tfjs-wasm's: each choice changes rounding,
 * so it is part of the fingerprint below. `filterGradDirect` / `inputGradDirect`: the largest Cin·Cout whose filter /
 * input gradient runs on fedau's kernel (conv2d-backprop-filter.ts, conv2d-backprop-input.ts); `forwardOneChannel`:
 * a one-channel image's forward convolution runs on fedau's kernel; `forwardDirect`: the largest Cin·Cout of an
 * unpadded stride-1 forward convolution that does (conv2d.ts); `forwardGemmAbove`: forward convolutions with a
 * larger Cin·Cout run as im2col + fedau's GEMM (conv2d-gemm.ts), and so do the gradients above the direct kernels'
 * limits (conv2d-gemm-grad.ts).
 */
export const KERNEL_DISPATCH = {
  filterGradDirect: 256,
  inputGradDirect: 256,
  forwardOneChannel: true,
  forwardDirect: 256,
  forwardGemmAbove: 256,
} as const;

/**
 * What identifies the kernels' numeric path in a cache key: the digest of the compiled module that runs here (the
 * fused or the plain build) and of the dispatch rules. A changed kernel, build or rule changes the key of every
 * stage that trains or evaluates on wasm, so a cached result is never reused across it.
 */
export function kernelsFingerprint(): string {
  fingerprint ??= sha256(`${sha256(kernelBytes())}:${JSON.stringify(KERNEL_DISPATCH)}`).slice(0, 16);
  return fingerprint;
}
let fingerprint: string | undefined;

/** The kernels bound to this backend's heap (one instance per tfjs-wasm module, that is per thread). */
export function fedauKernels(backend: WasmBackend): FedauKernels {
  const found = instances.get(backend.wasm);
  if (found) return found;
  compiled ??= new wasmApi.Module(kernelBytes());
  const instance = new wasmApi.Instance(compiled, { env: { memory: backend.wasm.asm.memory } });
  const kernels = instance.exports as unknown as FedauKernels;
  instances.set(backend.wasm, kernels);
  return kernels;
}
