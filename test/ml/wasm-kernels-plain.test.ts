import { wasmKernelSuite } from '../helpers/wasm-kernel-suite.ts';

// The plain SIMD128 build, which runs where the engine or the CPU cannot fuse a multiply-add: tested here too.
process.env.FEDAU_KERNELS = 'plain';
wasmKernelSuite('plain');
