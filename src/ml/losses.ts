import type * as tfType from '@tensorflow/tfjs';

/** Mean cross-entropy of logits against integer labels (PyTorch's F.cross_entropy), via log-softmax. */
export function crossEntropy(tf: typeof tfType, logits: tfType.Tensor2D, labels: tfType.Tensor1D): tfType.Scalar {
  const classes = logits.shape[1];
  const logp = tf.logSoftmax(logits);
  return tf.neg(tf.mean(tf.sum(tf.mul(tf.oneHot(labels, classes), logp), 1))) as tfType.Scalar;
}

/**
 * FedAU's two-headed loss (reference §4.3): each head has its own softmax over C logits, with ε = 1e-7 inside
 * the log exactly as the reference, and both heads weigh the same:
 *   L = -(1/B) Σ_i log(p_i[yA_i] + ε) - (1/B) Σ_i log(q_i[yB_i] + ε)
 */
export function twoHeadLoss(tf: typeof tfType, a: tfType.Tensor2D, b: tfType.Tensor2D, yA: tfType.Tensor1D, yB: tfType.Tensor1D): tfType.Scalar {
  const classes = a.shape[1];
  const eps = 1e-7;
  const headA = tf.sum(tf.mul(tf.oneHot(yA, classes), tf.log(tf.add(tf.softmax(a), eps))), 1);
  const headB = tf.sum(tf.mul(tf.oneHot(yB, classes), tf.log(tf.add(tf.softmax(b), eps))), 1);
  return tf.neg(tf.add(tf.mean(headA), tf.mean(headB))) as tfType.Scalar;
}
