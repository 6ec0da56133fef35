import type * as tfType from '@tensorflow/tfjs';
import type { ModelDef } from './model.ts';
import { opsFor } from './ops.ts';
import type { ParamSpec } from './params.ts';

const conv = (name: string, k: number, cin: number, cout: number): ParamSpec[] => [
  { name: `${name}.weight`, shape: [k, k, cin, cout], init: { kind: 'uniform', fanIn: cin * k * k } },
  { name: `${name}.bias`, shape: [cout], init: { kind: 'uniform', fanIn: cin * k * k } },
];
export const dense = (name: string, nin: number, nout: number): ParamSpec[] => [
  { name: `${name}.weight`, shape: [nin, nout], init: { kind: 'uniform', fanIn: nin } },
  { name: `${name}.bias`, shape: [nout], init: { kind: 'uniform', fanIn: nin } },
];

/**
 * LeNet of the reference (44 426 parameters for 10 classes, plus 850 for the auxiliary head): conv 6@5×5,
 * max-pool, ReLU, conv 16@5×5, max-pool, ReLU, fc 120, ReLU, fc 84, ReLU (= z), classifier 84→C.
 * The reference pools before the ReLU; for max-pool the order does not change the result.
 */
export function lenet(classes: number, inputShape: [number, number, number] = [28, 28, 1]): ModelDef {
  const specs = [
    ...conv('conv1', 5, inputShape[2], 6),
    ...conv('conv2', 5, 6, 16),
    ...dense('fc_1', 256, 120),
    ...dense('fc_2', 120, 84),
    ...dense('classifier', 84, classes),
  ];
  return {
    name: 'lenet',
    classes,
    inputShape,
    specs,
    classifier: { weight: specs.length - 2, bias: specs.length - 1 },
    featureSize: 84,
    tapsConvolutions: true,
    features(tf, p, x, _training, tap) {
      const ops = opsFor(tf);
      const [c1w, c1b, c2w, c2b, f1w, f1b, f2w, f2b] = p;
      // Bias after pooling: a per-channel constant commutes with the max, and the pooled tensor is 4× smaller.
      let h = ops.poolBiasRelu(tf.conv2d(x, c1w as tfType.Tensor4D, 1, 'valid'), c1b);
      tap?.(0, h);
      h = ops.poolBiasRelu(tf.conv2d(h, c2w as tfType.Tensor4D, 1, 'valid'), c2b);
      tap?.(2, h);
      const flat = tf.reshape(h, [x.shape[0], 256]) as tfType.Tensor2D;
      return { z: ops.dense(ops.dense(flat, f1w, f1b, true), f2w, f2b, true) };
    },
  };
}
