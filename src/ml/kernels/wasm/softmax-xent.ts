import type { KernelConfig, TensorInfo } from '@tensorflow/tfjs-core';
import { addressOf, heapF32, type WasmBackend } from './util.ts';

const labelsOf = (backend: WasmBackend, t: TensorInfo) => {
  const at = addressOf(backend, t) / 4;
  return backend.wasm.HEAP32.subarray(at, at + t.shape[0]);
};

/**
 * Mean cross-entropy of logits [B, C] against integer labels, and the softmax it used (kept for the gradient).
 * eps = 0: −log softmax(z)[y] (PyTorch's F.cross_entropy); eps > 0: −log(softmax(z)[y] + eps) (the reference's
 * two-headed loss, design §4.3). Computed in float64, B·C values: cheaper than the seven kernels it replaces.
 */
function softmaxXent({
  inputs,
  backend,
  attrs,
}: {
  inputs: { logits: TensorInfo; labels: TensorInfo };
  backend: WasmBackend;
  // biome-ignore lint/suspicious/noExplicitAny: tfjs passes kernel attrs untyped
  attrs: any;
}): TensorInfo[] {
  const [B, C] = inputs.logits.shape;
  const eps = attrs.eps as number;
  const loss = backend.makeOutput([], 'float32');
  const probs = backend.makeOutput([B, C], 'float32');
  const z = heapF32(backend, inputs.logits);
  const y = labelsOf(backend, inputs.labels);
  const p = heapF32(backend, probs);
  let total = 0;
  for (let i = 0; i < B; i++) {
    let max = -Infinity;
    for (let j = 0; j < C; j++) max = Math.max(max, z[i * C + j]);
    let sum = 0;
    for (let j = 0; j < C; j++) sum += Math.exp(z[i * C + j] - max);
    for (let j = 0; j < C; j++) p[i * C + j] = Math.exp(z[i * C + j] - max) / sum;
    const label = y[i];
    total += eps > 0 ? -Math.log(p[i * C + label] + eps) : -(z[i * C + label] - max - Math.log(sum));
  }
  heapF32(backend, loss)[0] = total / B;
  return [loss, probs];
}

/** d loss / d logits, scaled by the upstream gradient dy (a scalar). */
function softmaxXentGrad({
  inputs,
  backend,
  attrs,
}: {
  inputs: { dy: TensorInfo; probs: TensorInfo; labels: TensorInfo };
  backend: WasmBackend;
  // biome-ignore lint/suspicious/noExplicitAny: tfjs passes kernel attrs untyped
  attrs: any;
}): TensorInfo {
  const [B, C] = inputs.probs.shape;
  const eps = attrs.eps as number;
  const out = backend.makeOutput([B, C], 'float32');
  const dy = heapF32(backend, inputs.dy)[0];
  const p = heapF32(backend, inputs.probs);
  const y = labelsOf(backend, inputs.labels);
  const d = heapF32(backend, out);
  for (let i = 0; i < B; i++) {
    const label = y[i];
    const py = p[i * C + label];
    // eps > 0: −(1/B)·p_y(δ_jy − p_j)/(p_y + eps); eps = 0 the same with eps → 0: (p_j − δ_jy)/B.
    const scale = eps > 0 ? py / (py + eps) : 1;
    for (let j = 0; j < C; j++) d[i * C + j] = (dy * scale * (p[i * C + j] - (j === label ? 1 : 0))) / B;
  }
  return out;
}

export const softmaxXentConfigs: KernelConfig[] = [
  {
    kernelName: 'FedauSoftmaxXent',
    backendName: 'wasm',
    kernelFunc: softmaxXent as unknown as KernelConfig['kernelFunc'],
  },
  {
    kernelName: 'FedauSoftmaxXentGrad',
    backendName: 'wasm',
    kernelFunc: softmaxXentGrad as unknown as KernelConfig['kernelFunc'],
  },
];
