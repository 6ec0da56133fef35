// Compiles kernels/ (AssemblyScript) to one WebAssembly module: the options of fedau's kernel build, shared by
// scripts/build-kernels.mjs (what the package ships) and scripts/kernel-spills.mjs (which must read the same code).
import asc from 'assemblyscript/asc';

/** `features`: 'simd' (the plain build) or 'simd,relaxed-simd' (the fused one); `extra`: more asc flags. */
export async function compileKernels(outFile, features, extra = []) {
  const { error, stderr } = await asc.main([
    'kernels/index.ts',
    '--outFile',
    outFile,
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
    ...extra,
  ]);
  if (error) {
    process.stderr.write(stderr.toString());
    process.exit(1);
  }
}
