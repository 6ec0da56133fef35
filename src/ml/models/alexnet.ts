import type * as tfType from '@tensorflow/tfjs';
import { dense } from './lenet.ts';
import type { ModelDef } from './model.ts';
import { opsFor } from './ops.ts';
import type { ParamSpec } from './params.ts';

/** A bias-free convolution initialised Kaiming-normal (fan_out, ReLU gain), as the reference's AlexNet. */
const convBlock = (name: string, k: number, cin: number, cout: number): ParamSpec => ({
  name: `${name}.conv.weight`,
  shape: [k, k, cin, cout],
  init: { kind: 'kaimingNormalFanOut', fanOut: cout * k * k },
});

/**
 * AlexNet, CIFAR variant of the reference (2 491 082 parameters for 10 classes, plus 40 970 for the auxiliary
 * head): conv 64@5×5 p2, pool, conv 192@5×5 p2, pool, conv 384@3×3, conv 256@3×3, conv 256@3×3, pool, each conv
 * followed by ReLU, no bias, no BatchNorm; z is the flattened 4×4×256 map (4096).
 */
export function alexnet(classes: number, inputShape: [number, number, number] = [32, 32, 3]): ModelDef {
  const specs = [
    convBlock('features.0', 5, inputShape[2], 64),
    convBlock('features.2', 5, 64, 192),
    convBlock('features.4', 3, 192, 384),
    convBlock('features.5', 3, 384, 256),
    convBlock('features.6', 3, 256, 256),
    ...dense('classifier', 4096, classes),
  ];
  return {
    name: 'alexnet',
    classes,
    inputShape,
    specs,
    classifier: { weight: specs.length - 2, bias: specs.length - 1 },
    featureSize: 4096,
    tapsConvolutions: true,
    features(tf, p, x, _training, tap) {
      const ops = opsFor(tf);
      const conv = (h: tfType.Tensor4D, w: tfType.Tensor, pad: number) =>
        tf.conv2d(
          h,
          w as tfType.Tensor4D,
          1,
          pad === 0
            ? 'valid'
            : [
                [0, 0],
                [pad, pad],
                [pad, pad],
                [0, 0],
              ],
        );
      // ReLU then max-pool equals max-pool then ReLU; the fused op takes a bias, here zero.
      const poolRelu = (h: tfType.Tensor4D) => ops.poolBiasRelu(h, tf.zeros([h.shape[3]]));
      let h = poolRelu(conv(x, p[0], 2));
      tap?.(0, h);
      h = poolRelu(conv(h, p[1], 2));
      tap?.(1, h);
      h = tf.relu(conv(h, p[2], 1)) as tfType.Tensor4D;
      tap?.(2, h);
      h = tf.relu(conv(h, p[3], 1)) as tfType.Tensor4D;
      tap?.(3, h);
      h = poolRelu(conv(h, p[4], 1));
      tap?.(4, h);
      return { z: tf.reshape(h, [x.shape[0], 4096]) as tfType.Tensor2D };
    },
  };
}
