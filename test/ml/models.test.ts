import type * as tfType from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { syntheticDataset } from '../../src/data/synthetic.ts';
import { fedAvg } from '../../src/fl/fedavg.ts';
import { initBackend } from '../../src/ml/backends/backend.ts';
import { buildModel } from '../../src/ml/models/index.ts';
import { headSpecs } from '../../src/ml/models/model.ts';
import { countParams, initWeights } from '../../src/ml/models/params.ts';
import { trainClient } from '../../src/ml/train/client-train.ts';
import { BatchMaker, preprocessFor } from '../../src/ml/train/preprocess.ts';

let tf: typeof tfType;
beforeAll(async () => {
  tf = await initBackend({ name: 'wasm' });
});

describe('models', () => {
  it.each([
    ['lenet', 10, [28, 28, 1], 44_426, 850],
    ['alexnet', 10, [32, 32, 3], 2_491_082, 40_970],
    ['resnet18', 100, [32, 32, 3], 11_220_132, 51_300],
  ] as const)(
    '%s with %i classes has the reference parameter count, and its auxiliary head',
    (name, classes, shape, params, head) => {
      const model = buildModel(name, classes, [...shape]);
      expect(countParams(model.specs)).toBe(params);
      expect(countParams(headSpecs(model))).toBe(head);
    },
  );

  it.each([
    ['alexnet', 10, 0.02],
    ['resnet18', 100, 0.05],
  ] as const)('a few training steps of %s on tiny CIFAR-shaped data lower the loss', async (name, classes, lr) => {
    const ds = syntheticDataset({ classes, train: 16, test: 1, height: 32, width: 32, channels: 3, noise: 20 }, 4);
    const model = buildModel(name, classes, [32, 32, 3]);
    const data = {
      batches: new BatchMaker(ds.trainImages, { ...ds.header }, preprocessFor('cifar10', 3)),
      headA: ds.trainLabels,
      headB: ds.trainLabels,
    };
    let weights = initWeights(model.specs, 1);
    const losses: number[] = [];
    const before = tf.memory().numTensors;
    for (let epoch = 0; epoch < 4; epoch++) {
      const r = await trainClient(tf, model, data, {
        round: epoch,
        client: 0,
        weights,
        indices: Int32Array.from({ length: 16 }, (_, i) => i),
        lr,
        samples: 'all' as const,
        recipe: { localEpochs: 1, batchSize: 8, momentum: 0.9, weightDecay: 5e-4, seed: 1, augment: false },
      });
      weights = r.weights;
      losses.push(r.loss);
    }
    expect(tf.memory().numTensors).toBe(before);
    expect(losses[3]).toBeLessThan(losses[0]);
  });
});

describe('BatchNorm in federated training (ResNet18)', () => {
  const model = buildModel('resnet18', 10, [32, 32, 3]);
  const idx = (name: string) => model.specs.findIndex((s) => s.name === name);

  it('training updates the running statistics; evaluation uses them, training uses batch statistics', async () => {
    const ds = syntheticDataset({ classes: 10, train: 8, test: 1, height: 32, width: 32, channels: 3, noise: 20 }, 5);
    const data = {
      batches: new BatchMaker(ds.trainImages, { ...ds.header }, preprocessFor('cifar10', 3)),
      headA: ds.trainLabels,
      headB: ds.trainLabels,
    };
    const w0 = initWeights(model.specs, 2);
    const r = await trainClient(tf, model, data, {
      round: 0,
      client: 0,
      weights: w0,
      indices: Int32Array.from({ length: 8 }, (_, i) => i),
      lr: 0.01,
      samples: 'all' as const,
      recipe: { localEpochs: 1, batchSize: 8, momentum: 0.9, weightDecay: 5e-4, seed: 1, augment: false },
    });
    const [rm, rv] = [idx('bn1.running_mean'), idx('bn1.running_var')];
    expect([...w0[rm]].every((v) => v === 0)).toBe(true);
    expect([...r.weights[rm]].some((v) => v !== 0)).toBe(true);
    expect([...r.weights[rv]].some((v) => v !== 1)).toBe(true);
    // Running statistics are buffers: not trained by SGD, so weight decay never touched them.
    expect(model.specs[rm].buffer).toBe(true);

    const x = tf.tensor4d(
      Float32Array.from({ length: 4 * 32 * 32 * 3 }, (_, i) => Math.sin(i)),
      [4, 32, 32, 3],
    );
    const params = r.weights.map((w, i) => tf.tensor(w, model.specs[i].shape));
    const train = model.features(tf, params, x, true);
    const evalA = model.features(tf, params, x, false).z.dataSync();
    // Eval mode depends on the running statistics; train mode does not.
    const shifted = params.slice();
    shifted[rm] = tf.add(params[rm], 1);
    const evalB = model.features(tf, shifted, x, false).z.dataSync();
    const trainB = model.features(tf, shifted, x, true).z.dataSync();
    expect(evalB).not.toEqual(evalA);
    expect(trainB).toEqual(train.z.dataSync());
    tf.dispose([x, ...params, shifted[rm], train.z, ...(train.updatedBuffers?.values() ?? [])]);
  });

  it('FedAvg averages the running statistics like any float buffer', () => {
    const a = initWeights(model.specs, 3);
    const b = initWeights(model.specs, 4);
    const rv = idx('layer2.0.shortcut.1.running_var');
    a[rv].fill(1);
    b[rv].fill(3);
    const avg = fedAvg([a, b], [1, 3]);
    expect([...avg[rv]].every((v) => v === 2.5)).toBe(true);
  });
});
