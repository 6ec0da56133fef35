// AssemblyScript entry of fedau's CPU kernels (see kernels/README.md): every export works on tfjs-wasm's heap.

export { bnApply, bnGradInput, bnGradSums, bnVariance } from './batch-norm';
export { convFilterGrad } from './conv-filter-grad';
export { convForwardDirect } from './conv-forward-direct';
export { convForwardOneChannel } from './conv-forward-one-channel';
export { convInputGrad, convInputGradFilter } from './conv-input-grad';
export { gemm, packB } from './gemm';
export { col2im, im2col } from './im2col';
export { maddProbe } from './madd';
export { poolBiasRelu } from './pool-bias-relu';
export { poolBiasReluGrad } from './pool-bias-relu-grad';
export { sumRows } from './sum-rows';
