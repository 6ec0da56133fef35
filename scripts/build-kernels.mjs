// Compiles fedau's CPU kernels (kernels/, AssemblyScript with 128-bit SIMD) to dist/kernels/fedau-kernels.wasm.
// Run by `npm run build`; needs no network. The same sources and compiler version give the same bytes.
import { mkdirSync } from 'node:fs';
import asc from 'assemblyscript/asc';

const OUT = 'dist/kernels/fedau-kernels.wasm';
mkdirSync('dist/kernels', { recursive: true });
const { error, stderr } = await asc.main([
  'kernels/index.ts',
  '--outFile',
  OUT,
  // No runtime and no memory of its own: the kernels read and write tfjs-wasm's heap, which they import.
  '--runtime',
  'stub',
  '--importMemory',
  '--initialMemory',
  '0',
  '--enable',
  'simd',
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
