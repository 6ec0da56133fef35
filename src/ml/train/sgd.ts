import type * as tfType from '@tensorflow/tfjs';
import { heapF32, type WasmBackend } from '../kernels/wasm/util.ts';
import type { LocalRecipe } from './job.ts';

export type OptimizerSettings = Pick<LocalRecipe, 'momentum' | 'weightDecay'>;

/** PyTorch's SGD: g = ∇ + λw; buf = μ·buf + g (buf = g at the first step); w −= lr·buf. */
export interface Sgd {
  /** One update; with `accumulate`, the change it makes to each variable is added there (in variable order). */
  step(grads: Record<string, tfType.Tensor>, lr: number, accumulate?: Float32Array[]): void;
  dispose(): void;
}

export function createSgd(tf: typeof tfType, vars: tfType.Variable[], opt: OptimizerSettings): Sgd {
  return tf.getBackend() === 'wasm' ? heapSgd(tf, vars, opt) : tensorSgd(tf, vars, opt);
}

/**
 * On wasm the update is one loop over the heap per parameter instead of five small kernels. It writes a new
 * buffer and assigns it, never the variable's own: tfjs-wasm caches XNNPACK operators, with their weights
 * packed, by tensor id, so a weight changed in place would silently keep being used with its old value.
 */
function heapSgd(tf: typeof tfType, vars: tfType.Variable[], opt: OptimizerSettings): Sgd {
  const backend = tf.backend() as unknown as WasmBackend;
  const momentum = vars.map((v) => new Float32Array(v.size));
  let first = true;
  const view = (t: tfType.TensorInfo) => heapF32(backend, t);
  return {
    step(grads, lr, accumulate) {
      const { momentum: mu, weightDecay: wd } = opt;
      vars.forEach((v, i) => {
        const info = backend.makeOutput(v.shape, 'float32');
        // Views after the allocation, which may have grown (moved) the heap.
        const w = view(v);
        const g = view(grads[v.name]);
        const out = view(info);
        const m = momentum[i];
        for (let j = 0; j < w.length; j++) {
          const gj = g[j] + wd * w[j];
          const b = first ? gj : mu * m[j] + gj;
          m[j] = b;
          out[j] = w[j] - lr * b;
        }
        const acc = accumulate?.[i];
        if (acc) for (let j = 0; j < w.length; j++) acc[j] += out[j] - w[j];
        const next = tf.engine().makeTensorFromTensorInfo(info);
        v.assign(next);
        next.dispose();
      });
      first = false;
    },
    dispose() {},
  };
}

function tensorSgd(tf: typeof tfType, vars: tfType.Variable[], opt: OptimizerSettings): Sgd {
  const momentum: (tfType.Tensor | undefined)[] = vars.map(() => undefined);
  return {
    step(grads, lr, accumulate) {
      tf.tidy(() => {
        vars.forEach((v, i) => {
          const g = tf.add(grads[v.name], tf.mul(v, opt.weightDecay));
          const buf = momentum[i] ? tf.add(tf.mul(momentum[i]!, opt.momentum), g) : g;
          momentum[i]?.dispose();
          momentum[i] = tf.keep(buf);
          const change = tf.mul(buf, -lr);
          const acc = accumulate?.[i];
          if (acc) {
            const d = change.dataSync();
            for (let j = 0; j < acc.length; j++) acc[j] += d[j];
          }
          v.assign(tf.add(v, change));
        });
      });
    },
    dispose() {
      tf.dispose(momentum.filter((m): m is tfType.Tensor => m !== undefined));
    },
  };
}
