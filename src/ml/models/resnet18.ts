import type * as tfType from '@tensorflow/tfjs';
import { dense } from './lenet.ts';
import type { ModelDef } from './model.ts';
import { opsFor } from './ops.ts';
import type { ParamSpec } from './params.ts';

const BN_EPS = 1e-5;
const BN_MOMENTUM = 0.1;

const conv = (name: string, k: number, cin: number, cout: number): ParamSpec => ({
  name: `${name}.weight`,
  shape: [k, k, cin, cout],
  init: { kind: 'uniform', fanIn: cin * k * k },
});
/** γ, β (trained) and the running mean and variance (buffers: averaged by FedAvg, never trained). */
const bn = (name: string, c: number): ParamSpec[] => [
  { name: `${name}.weight`, shape: [c], init: { kind: 'constant', value: 1 } },
  { name: `${name}.bias`, shape: [c], init: { kind: 'constant', value: 0 } },
  { name: `${name}.running_mean`, shape: [c], init: { kind: 'constant', value: 0 }, buffer: true },
  { name: `${name}.running_var`, shape: [c], init: { kind: 'constant', value: 1 }, buffer: true },
];

interface Block {
  prefix: string;
  stride: number;
  cin: number;
  cout: number;
  shortcut: boolean;
}

/**
 * ResNet18, CIFAR variant of the reference (`resnet_cifar100.py`; 11 220 132 parameters for 100 classes, plus
 * 51 300 for the auxiliary head): 3×3 stem without max-pool, four stages of two BasicBlocks (64, 128/2, 256/2,
 * 512/2), global average pool (z = 512). BatchNorm uses batch statistics when training and updates its running
 * statistics (momentum 0.1, unbiased variance, as PyTorch), and the running statistics when evaluating.
 */
export function resnet18(classes: number, inputShape: [number, number, number] = [32, 32, 3]): ModelDef {
  const blocks: Block[] = [];
  let cin = 64;
  [64, 128, 256, 512].forEach((width, stage) => {
    for (let b = 0; b < 2; b++) {
      const stride = stage > 0 && b === 0 ? 2 : 1;
      blocks.push({
        prefix: `layer${stage + 1}.${b}`,
        stride,
        cin,
        cout: width,
        shortcut: stride !== 1 || cin !== width,
      });
      cin = width;
    }
  });
  const specs: ParamSpec[] = [conv('conv1', 3, inputShape[2], 64), ...bn('bn1', 64)];
  for (const b of blocks) {
    specs.push(
      conv(`${b.prefix}.conv1`, 3, b.cin, b.cout),
      ...bn(`${b.prefix}.bn1`, b.cout),
      conv(`${b.prefix}.conv2`, 3, b.cout, b.cout),
      ...bn(`${b.prefix}.bn2`, b.cout),
    );
    if (b.shortcut)
      specs.push(conv(`${b.prefix}.shortcut.0`, 1, b.cin, b.cout), ...bn(`${b.prefix}.shortcut.1`, b.cout));
  }
  specs.push(...dense('classifier', 512, classes));
  const index = new Map(specs.map((s, i) => [s.name, i]));
  return {
    name: 'resnet18',
    classes,
    inputShape,
    specs,
    classifier: { weight: specs.length - 2, bias: specs.length - 1 },
    featureSize: 512,
    features(tf, p, x, training) {
      const updatedBuffers = new Map<number, tfType.Tensor>();
      const param = (name: string) => p[index.get(name)!];
      const conv2d = (h: tfType.Tensor4D, name: string, stride: number, pad: number) =>
        tf.conv2d(
          h,
          param(`${name}.weight`) as tfType.Tensor4D,
          stride,
          pad
            ? [
                [0, 0],
                [pad, pad],
                [pad, pad],
                [0, 0],
              ]
            : 'valid',
        );
      const batchNorm = (h: tfType.Tensor4D, name: string): tfType.Tensor4D => {
        const gamma = param(`${name}.weight`);
        const beta = param(`${name}.bias`);
        if (!training)
          return tf.batchNorm(
            h,
            param(`${name}.running_mean`),
            param(`${name}.running_var`),
            beta,
            gamma,
            BN_EPS,
          ) as tfType.Tensor4D;
        const { y, mean, variance } = opsFor(tf).batchNormTrain(h, gamma, beta, BN_EPS);
        const n = h.shape[0] * h.shape[1] * h.shape[2];
        // The new running statistics are not part of the loss, so no gradient flows through them.
        const [rm, rv] = [index.get(`${name}.running_mean`)!, index.get(`${name}.running_var`)!];
        updatedBuffers.set(rm, tf.add(tf.mul(p[rm], 1 - BN_MOMENTUM), tf.mul(mean, BN_MOMENTUM)));
        updatedBuffers.set(
          rv,
          tf.add(tf.mul(p[rv], 1 - BN_MOMENTUM), tf.mul(variance, (BN_MOMENTUM * n) / Math.max(1, n - 1))),
        );
        tf.dispose([mean, variance]);
        return y;
      };
      let h = tf.relu(batchNorm(conv2d(x, 'conv1', 1, 1), 'bn1')) as tfType.Tensor4D;
      for (const b of blocks) {
        let out = tf.relu(batchNorm(conv2d(h, `${b.prefix}.conv1`, b.stride, 1), `${b.prefix}.bn1`)) as tfType.Tensor4D;
        out = batchNorm(conv2d(out, `${b.prefix}.conv2`, 1, 1), `${b.prefix}.bn2`);
        const shortcut = b.shortcut
          ? batchNorm(conv2d(h, `${b.prefix}.shortcut.0`, b.stride, 0), `${b.prefix}.shortcut.1`)
          : h;
        h = tf.relu(tf.add(out, shortcut)) as tfType.Tensor4D;
      }
      const z = tf.mean(h, [1, 2]) as tfType.Tensor2D;
      return training ? { z, updatedBuffers } : { z };
    },
  };
}
