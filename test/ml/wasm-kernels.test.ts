import { wasmKernelSuite } from '../helpers/wasm-kernel-suite.ts';

// The build fedau picks on this machine: the fused multiply-add one where the engine and CPU fuse (CI's machines
// do: x86-64 with FMA, Node 20 with relaxed SIMD behind its flag), the plain one elsewhere.
process.env.FEDAU_KERNELS = 'fma';
wasmKernelSuite('fma');
