import type * as tfType from '@tensorflow/tfjs';
import { opsFor } from '../models/ops.ts';

/** Mean cross-entropy of logits against integer labels (PyTorch's F.cross_entropy). */
export function crossEntropy(tf: typeof tfType, logits: tfType.Tensor2D, labels: tfType.Tensor1D): tfType.Scalar {
  return opsFor(tf).xent(logits, labels, 0);
}

/** ε inside the log of the reference's two-headed loss. */
export const TWO_HEAD_EPS = 1e-7;

/**
 * FedAU's two-headed loss (design §4.3): each head has its own softmax over C logits, with ε = 1e-7 inside
 * the log exactly as the reference, and both heads weigh the same:
 *   L = -(1/B) Σ_i log(p_i[yA_i] + ε) - (1/B) Σ_i log(q_i[yB_i] + ε)
 */
export function twoHeadLoss(
  tf: typeof tfType,
  a: tfType.Tensor2D,
  b: tfType.Tensor2D,
  yA: tfType.Tensor1D,
  yB: tfType.Tensor1D,
): tfType.Scalar {
  const ops = opsFor(tf);
  return tf.add(ops.xent(a, yA, TWO_HEAD_EPS), ops.xent(b, yB, TWO_HEAD_EPS)) as tfType.Scalar;
}
