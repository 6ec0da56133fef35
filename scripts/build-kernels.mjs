// Compiles fedau's CPU kernels (kernels/, AssemblyScript with 128-bit SIMD) to dist/kernels/: twice, from the same
// sources. fedau-kernels.wasm is plain SIMD128 (a multiply-add is two roundings); fedau-kernels-fma.wasm adds
// relaxed SIMD, whose multiply-add is fused where the CPU has FMA (kernels/madd.ts). The loader picks one at run
// time (src/ml/kernels/wasm/kernel-variant.ts). Run by `npm run build`; needs no network. The same sources and
// compiler version give the same bytes.
import { mkdirSync } from 'node:fs';
import { compileKernels } from './compile-kernels.mjs';

mkdirSync('dist/kernels', { recursive: true });
await compileKernels('dist/kernels/fedau-kernels.wasm', 'simd');
await compileKernels('dist/kernels/fedau-kernels-fma.wasm', 'simd,relaxed-simd');
