import { setFlagsFromString } from 'node:v8';
import { DataError } from '../../../core/errors.ts';

/**
 * Which build of fedau's kernels this process runs (scripts/build-kernels.mjs makes both from kernels/):
 * - `fma`: relaxed SIMD, each multiply-add fused into one instruction (one rounding): faster, other bytes;
 * - `plain`: SIMD128 only, a multiply then an add (two roundings).
 * `fma` is taken when the engine runs relaxed SIMD (Node 20 has it behind a V8 flag, turned on here for this
 * process and its threads) and the CPU fuses the multiply-add; where the CPU does not, relaxed SIMD gives the plain
 * build's bytes anyway, so plain is taken. `FEDAU_KERNELS=plain` forces the plain build (to compare with a machine
 * without FMA); `FEDAU_KERNELS=fma` insists on the fused one and fails where it cannot run.
 * Each build's digest is part of the cache key (kernelsFingerprint) and of a cluster's facts, so results of one
 * are never mixed with the other's.
 */
export type KernelVariant = 'fma' | 'plain';

export const KERNEL_FILES: Record<KernelVariant, string> = {
  plain: 'dist/kernels/fedau-kernels.wasm',
  fma: 'dist/kernels/fedau-kernels-fma.wasm',
};

interface WasmApi {
  validate(bytes: Uint8Array): boolean;
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: unknown };
  Memory: new (d: { initial: number }) => object;
}
const { WebAssembly: wasmApi } = globalThis as unknown as { WebAssembly: WasmApi };

/** Decides the variant from the environment, the engine and the CPU; `read` gives a build's bytes. */
export function chooseKernelVariant(read: (v: KernelVariant) => Uint8Array, env = process.env): KernelVariant {
  const asked = env.FEDAU_KERNELS;
  if (asked !== undefined && asked !== '' && asked !== 'plain' && asked !== 'fma') {
    throw new DataError(`FEDAU_KERNELS is ${JSON.stringify(asked)}`, {
      path: 'environment variable FEDAU_KERNELS',
      expected: '"plain" or "fma" (or unset: fma where the engine and CPU fuse multiply-adds)',
      got: asked,
      hint: 'unset FEDAU_KERNELS to let fedau choose',
    });
  }
  if (asked === 'plain') return 'plain';
  const fused = fusesMultiplyAdd(read('fma'));
  if (asked === 'fma' && !fused) {
    throw new DataError("FEDAU_KERNELS=fma, but this engine or CPU cannot run fedau's fused multiply-add kernels", {
      path: 'environment variable FEDAU_KERNELS',
      expected: 'an engine with relaxed SIMD on a CPU with FMA',
      got: `Node ${process.version} on ${process.arch}`,
      hint: 'unset FEDAU_KERNELS (or set it to plain)',
    });
  }
  return fused ? 'fma' : 'plain';
}

/** Whether the fma build runs here, with its multiply-add rounded once. */
function fusesMultiplyAdd(bytes: Uint8Array): boolean {
  if (!wasmApi.validate(bytes)) {
    // Node 20's V8 has relaxed SIMD behind a flag; engines that ship it need none.
    setFlagsFromString('--experimental-wasm-relaxed-simd');
    if (!wasmApi.validate(bytes)) return false;
  }
  const instance = new wasmApi.Instance(new wasmApi.Module(bytes), {
    env: { memory: new wasmApi.Memory({ initial: 1 }) },
  });
  const { maddProbe } = instance.exports as { maddProbe: (a: number, b: number, c: number) => number };
  const e = 2 ** -12;
  return maddProbe(1 + e, 1 + e, -(1 + 2 * e)) === 2 ** -24;
}
