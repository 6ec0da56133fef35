// Compiles fedau's CPU kernels (kernels/, AssemblyScript with 128-bit SIMD) to dist/kernels/: twice, from the same
// sources. fedau-kernels.wasm is plain SIMD128 (a multiply-add is two roundings); fedau-kernels-fma.wasm adds
// relaxed SIMD, whose multiply-add is fused where the CPU has FMA (kernels/madd.ts). The loader picks one at run
// time (src/ml/kernels/wasm/kernel-variant.ts). Run by `npm run build`; needs no network. The same sources and
// compiler version give the same bytes.
import { mkdirSync } from 'node:fs';
import asc from 'assemblyscript/asc';

mkdirSync('dist/kernels', { recursive: true });
for (const [out, features] of [
  ['dist/kernels/fedau-kernels.wasm', 'simd'],
  ['dist/kernels/fedau-kernels-fma.wasm', 'simd,relaxed-simd'],
]) {
  const { error, stderr } = await asc.main([
    'kernels/index.ts',
    '--outFile',
    out,
    // No runtime and no memory of its own: the kernels read and write tfjs-wasm's heap, which they import.
    '--runtime',
    'stub',
    '--importMemory',
    '--initialMemory',
    '0',
    '--enable',
    features,
    '-O3',
    '--noAssert',
    '--use',
    'abort=',
    '--disableWarning',
    '112',
  ]);
  if (error) {
    process.stderr.write(stderr.toString());
    process.exit(1);
  }
}
