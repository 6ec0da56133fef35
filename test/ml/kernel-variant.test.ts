import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { factsMismatch } from '../../src/cluster/protocol.ts';
import { chooseKernelVariant, KERNEL_FILES, type KernelVariant } from '../../src/ml/kernels/wasm/kernel-variant.ts';
import { ROOT } from '../helpers/cli.ts';

// biome-ignore lint/suspicious/noExplicitAny: the DOM lib that types WebAssembly is not in this project's tsconfig
const wasm = (globalThis as any).WebAssembly;
const read = (v: KernelVariant) => readFileSync(join(ROOT, KERNEL_FILES[v]));

/** maddProbe of a build: 1 + 2⁻¹² squared minus 1 + 2⁻¹¹ is 2⁻²⁴ rounded once, 0 rounded twice. */
function probe(v: KernelVariant): number {
  if (v === 'fma') chooseKernelVariant(read, {}); // turns relaxed SIMD on in this engine, where it needs a flag
  const memory = new wasm.Memory({ initial: 1 });
  const { exports } = new wasm.Instance(new wasm.Module(read(v)), { env: { memory } });
  const e = 2 ** -12;
  return (exports.maddProbe as (a: number, b: number, c: number) => number)(1 + e, 1 + e, -(1 + 2 * e));
}

describe("the build of fedau's kernels that runs", () => {
  it('is the fused multiply-add one on this machine (x86-64 with FMA), unless plain is asked for', () => {
    expect(chooseKernelVariant(read, {})).toBe('fma');
    expect(chooseKernelVariant(read, { FEDAU_KERNELS: 'plain' })).toBe('plain');
    expect(chooseKernelVariant(read, { FEDAU_KERNELS: 'fma' })).toBe('fma');
  });

  it('fuses in the fma build (one rounding) and not in the plain one (two)', () => {
    expect(probe('fma')).toBe(2 ** -24);
    expect(probe('plain')).toBe(0);
  });

  it('refuses an unknown FEDAU_KERNELS with what it accepts', () => {
    expect(() => chooseKernelVariant(read, { FEDAU_KERNELS: 'avx512' })).toThrow(/FEDAU_KERNELS is "avx512"[\s\S]*/);
    try {
      chooseKernelVariant(read, { FEDAU_KERNELS: 'avx512' });
    } catch (e) {
      expect(e).toMatchObject({ code: 'FEDAU_DATA', info: { expected: expect.stringContaining('"plain" or "fma"') } });
    }
  });

  it('is a fact a cluster worker must share with the coordinator', () => {
    const mine = { fedau: '0.1.0', tfjs: '4.22.0', backend: 'wasm', kernels: 'plain 0123456789abcdef' };
    expect(factsMismatch(mine, { ...mine, kernels: 'fma fedcba9876543210' })).toBe(
      "kernels plain 0123456789abcdef (the coordinator's is fma fedcba9876543210)",
    );
  });
});
