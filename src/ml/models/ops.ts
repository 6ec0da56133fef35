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
  /**
   * BatchNorm in training mode over N, H, W: y = γ·(x − μ)/√(σ² + eps) + β with the batch's μ and (biased) σ²,
   * which are returned too, for the running statistics.
   */
  batchNormTrain(
    x: tfType.Tensor4D,
    gamma: Tensor,
    beta: Tensor,
    eps: number,
  ): { y: tfType.Tensor4D; mean: Tensor; variance: Tensor };
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
    batchNormTrain: batchNormTrainOp(tf, false),
    poolBiasRelu: (x, bias) => tf.relu(tf.add(tf.maxPool(x, 2, 2, 'valid'), bias)) as tfType.Tensor4D,
    dense: (x, w, b, relu) =>
      tf.fused.matMul({
        a: x,
        b: w as tfType.Tensor2D,
        bias: b,
        activation: relu ? 'relu' : 'linear',
      }) as tfType.Tensor2D,
    xent: (logits, labels, eps) => {
      const oneHot = tf.oneHot(labels, logits.shape[1]);
      const logp = eps > 0 ? tf.log(tf.add(tf.softmax(logits), eps)) : tf.logSoftmax(logits);
      return tf.neg(tf.mean(tf.sum(tf.mul(oneHot, logp), 1))) as tfType.Scalar;
    },
  };
}

/** Runs one of fedau's own kernels by name (registered for wasm in src/ml/kernels/wasm). */
const kernelRunner =
  (tf: typeof tfType) =>
  (name: string, inputs: Record<string, Tensor>, attrs: Record<string, unknown> = {}) =>
    tf.engine().runKernel(name, inputs as never, attrs as never) as Tensor | Tensor[];

function fusedOps(tf: typeof tfType): Ops {
  const run = kernelRunner(tf);
  // customGrad passes (…inputs, save); its typings cannot say so, hence the casts.
  const poolBiasRelu = tf.customGrad(((x: Tensor, bias: Tensor, save: tfType.GradSaveFunc) => {
    // One forward kernel and one backward kernel; a custom gradient's forward pass is not taped.
    const y = run('FedauPoolBiasRelu', { x, bias }) as Tensor;
    save([x, y]);
    return {
      value: y,
      gradFunc: (dy: Tensor | Tensor[], saved: Tensor[]) =>
        run('FedauPoolBiasReluGrad', { dy: dy as Tensor, x: saved[0], y: saved[1] }) as Tensor[],
    };
  }) as never) as (x: Tensor, bias: Tensor) => Tensor;
  const xentFor = (eps: number) =>
    tf.customGrad(((logits: Tensor, labels: Tensor, save: tfType.GradSaveFunc) => {
      const [loss, probs] = run('FedauSoftmaxXent', { logits, labels }, { eps }) as Tensor[];
      save([probs, labels]);
      return {
        value: loss,
        // Labels get a zero gradient: they are data.
        gradFunc: (dy: Tensor | Tensor[], saved: Tensor[]) => [
          run('FedauSoftmaxXentGrad', { dy: dy as Tensor, probs: saved[0], labels: saved[1] }, { eps }) as Tensor,
          tf.zerosLike(saved[1]),
        ],
      };
    }) as never) as (logits: Tensor, labels: Tensor) => Tensor;
  const xents = new Map<number, (logits: Tensor, labels: Tensor) => Tensor>();
  return {
    batchNormTrain: batchNormTrainOp(tf, true),
    poolBiasRelu: (x, bias) => poolBiasRelu(x, bias) as tfType.Tensor4D,
    dense: standardOps(tf).dense,
    xent: (logits, labels, eps) => {
      let f = xents.get(eps);
      if (!f) {
        f = xentFor(eps);
        xents.set(eps, f);
      }
      return f(logits, labels) as tfType.Scalar;
    },
  };
}

/**
 * Training-mode BatchNorm with its closed-form gradient. Differentiating tf.moments and tf.batchNorm would keep
 * several full-size intermediates per layer on the tape; this keeps only x and per-channel vectors.
 * With x̂ = (x − μ)·s, s = 1/√(σ² + eps), m = N·H·W:
 *   dβ = Σ dy,   dγ = Σ dy·x̂,   dx = (γ·s/m)·(m·dy − Σ dy − x̂·Σ dy·x̂)
 * `fused` (wasm): the full-size passes run on fedau's kernels (kernels/batch-norm.ts), which make the composition's
 * float32 operations in its order: the same bytes, in 3 passes forward and 2 backward instead of 8 and 10.
 */
function batchNormTrainOp(tf: typeof tfType, fused: boolean): Ops['batchNormTrain'] {
  const run = kernelRunner(tf);
  const forward = (xx: Tensor, g: Tensor, b: Tensor, eps: number) => {
    if (!fused) {
      const m = tf.moments(xx, [0, 1, 2]);
      const inv = tf.rsqrt(tf.add(m.variance, eps));
      return [tf.add(tf.mul(tf.mul(tf.sub(xx, m.mean), inv), g), b), m.mean, m.variance, inv];
    }
    const mean = tf.mean(xx, [0, 1, 2]);
    const variance = run('FedauBnVariance', { x: xx, mean }) as Tensor;
    const inv = tf.rsqrt(tf.add(variance, eps));
    return [run('FedauBnApply', { x: xx, mean, inv, gamma: g, beta: b }) as Tensor, mean, variance, inv];
  };
  const backward = (d: Tensor, sx: Tensor, smean: Tensor, sinv: Tensor, sg: Tensor) => {
    const m = sx.shape[0]! * sx.shape[1]! * sx.shape[2]!;
    const coef = tf.mul(tf.mul(sg, sinv), 1 / m);
    if (fused) {
      const [sumDy, sumDyXhat] = run('FedauBnGradSums', { x: sx, dy: d, mean: smean, inv: sinv }) as Tensor[];
      const inputs = { x: sx, dy: d, mean: smean, inv: sinv, coef, sumDy, sumDyXhat };
      return [run('FedauBnGradInput', inputs) as Tensor, sumDyXhat, sumDy];
    }
    const xhat = tf.mul(tf.sub(sx, smean), sinv);
    const sumDy = tf.sum(d, [0, 1, 2]);
    const sumDyXhat = tf.sum(tf.mul(d, xhat), [0, 1, 2]);
    const dx = tf.mul(coef, tf.sub(tf.sub(tf.mul(d, m), sumDy), tf.mul(xhat, sumDyXhat)));
    return [dx, sumDyXhat, sumDy];
  };
  return (x, gamma, beta, eps) => {
    const stats: Tensor[] = [];
    const f = tf.customGrad(((xx: Tensor, g: Tensor, b: Tensor, save: tfType.GradSaveFunc) => {
      // tidy: intermediates of a custom forward pass would otherwise live until the whole backward pass ends.
      const [y, mean, variance, invStd] = tf.tidy(() => forward(xx, g, b, eps));
      save([xx, mean, invStd, g]);
      // The statistics leave the untaped forward pass for the running averages; the caller disposes them.
      stats.push(tf.keep(mean), tf.keep(variance));
      return {
        value: y,
        gradFunc: (dy: Tensor | Tensor[], saved: Tensor[]) => {
          const [sx, smean, sinv, sg] = saved;
          return backward(dy as Tensor, sx, smean, sinv, sg);
        },
      };
    }) as never) as (x: Tensor, g: Tensor, b: Tensor) => Tensor;
    const y = f(x, gamma, beta) as tfType.Tensor4D;
    return { y, mean: stats[0], variance: stats[1] };
  };
}
