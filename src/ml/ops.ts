import type * as tfType from '@tensorflow/tfjs';

type Tensor = tfType.Tensor;

/**
 * The few composite operations fedau's models and losses are built from. On wasm they run as fedau's fused
 * kernels with hand-written gradients (fewer, larger kernels: per-kernel overhead dominates small models);
 * on every other backend they are compositions of standard tfjs ops, differentiated by tfjs.
 */
export interface Ops {
  /** relu(maxPool2×2(x) + bias) */
  poolBiasRelu(x: tfType.Tensor4D, bias: Tensor): tfType.Tensor4D;
  /** x·w + b, optionally through a ReLU */
  dense(x: tfType.Tensor2D, w: Tensor, b: Tensor, relu: boolean): tfType.Tensor2D;
  /** mean over the batch of −log(softmax(z)[y] + eps); eps = 0 is the usual cross-entropy */
  xent(logits: tfType.Tensor2D, labels: tfType.Tensor1D, eps: number): tfType.Scalar;
}

const cache = new Map<string, Ops>();

export function opsFor(tf: typeof tfType): Ops {
  const fused = tf.getBackend() === 'wasm' && tf.getKernel('FedauPoolBiasReluGrad', 'wasm') !== undefined;
  const key = fused ? 'fused' : 'standard';
  let ops = cache.get(key);
  if (!ops) {
    ops = fused ? fusedOps(tf) : standardOps(tf);
    cache.set(key, ops);
  }
  return ops;
}

export function standardOps(tf: typeof tfType): Ops {
  return {
    poolBiasRelu: (x, bias) => tf.relu(tf.add(tf.maxPool(x, 2, 2, 'valid'), bias)) as tfType.Tensor4D,
    dense: (x, w, b, relu) => tf.fused.matMul({ a: x, b: w as tfType.Tensor2D, bias: b, activation: relu ? 'relu' : 'linear' }) as tfType.Tensor2D,
    xent: (logits, labels, eps) => {
      const oneHot = tf.oneHot(labels, logits.shape[1]);
      const logp = eps > 0 ? tf.log(tf.add(tf.softmax(logits), eps)) : tf.logSoftmax(logits);
      return tf.neg(tf.mean(tf.sum(tf.mul(oneHot, logp), 1))) as tfType.Scalar;
    },
  };
}

function fusedOps(tf: typeof tfType): Ops {
  const run = (name: string, inputs: Record<string, Tensor>, attrs: Record<string, unknown> = {}) => tf.engine().runKernel(name, inputs as never, attrs as never) as Tensor | Tensor[];
  // customGrad passes (…inputs, save); its typings cannot say so, hence the casts.
  const poolBiasRelu = tf.customGrad(((x: Tensor, bias: Tensor, save: tfType.GradSaveFunc) => {
    // Ops inside a custom gradient's forward pass are not taped: only the one backward kernel below runs.
    const y = tf.relu(tf.add(tf.maxPool(x as tfType.Tensor4D, 2, 2, 'valid'), bias));
    save([x, y]);
    return {
      value: y,
      gradFunc: (dy: Tensor | Tensor[], saved: Tensor[]) => run('FedauPoolBiasReluGrad', { dy: dy as Tensor, x: saved[0], y: saved[1] }) as Tensor[],
    };
  }) as never) as (x: Tensor, bias: Tensor) => Tensor;
  const xentFor = (eps: number) =>
    tf.customGrad(((logits: Tensor, labels: Tensor, save: tfType.GradSaveFunc) => {
      const [loss, probs] = run('FedauSoftmaxXent', { logits, labels }, { eps }) as Tensor[];
      save([probs, labels]);
      return {
        value: loss,
        // Labels get a zero gradient: they are data.
        gradFunc: (dy: Tensor | Tensor[], saved: Tensor[]) => [run('FedauSoftmaxXentGrad', { dy: dy as Tensor, probs: saved[0], labels: saved[1] }, { eps }) as Tensor, tf.zerosLike(saved[1])],
      };
    }) as never) as (logits: Tensor, labels: Tensor) => Tensor;
  const xents = new Map<number, (logits: Tensor, labels: Tensor) => Tensor>();
  return {
    poolBiasRelu: (x, bias) => poolBiasRelu(x, bias) as tfType.Tensor4D,
    dense: standardOps(tf).dense,
    xent: (logits, labels, eps) => {
      let f = xents.get(eps);
      if (!f) xents.set(eps, (f = xentFor(eps)));
      return f(logits, labels) as tfType.Scalar;
    },
  };
}
