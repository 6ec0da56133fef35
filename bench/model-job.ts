// A model's training job on generated data of its dataset's shape: what `npm run bench:models` times and what
// `npm run profile -- --model=NAME` breaks into kernels, for the models whose datasets cannot be downloaded here.
import { syntheticDataset } from '../src/data/synthetic.ts';
import { buildModel, type ModelName } from '../src/ml/models/index.ts';
import { initWeights } from '../src/ml/models/params.ts';
import { BatchMaker, preprocessFor } from '../src/ml/train/preprocess.ts';

export const MODEL_DATA = {
  lenet: { dataset: 'mnist', classes: 10, shape: [28, 28, 1] },
  alexnet: { dataset: 'cifar10', classes: 10, shape: [32, 32, 3] },
  resnet18: { dataset: 'cifar100', classes: 100, shape: [32, 32, 3] },
} as const;

/** The model, 1 024 generated training samples, and a job of `n` of them at `batch` (the reference's recipe). */
export function syntheticModelJob(name: ModelName, batch: number) {
  const { dataset, classes, shape } = MODEL_DATA[name];
  const ds = syntheticDataset(
    { classes, train: 1024, test: 1, height: shape[0], width: shape[1], channels: shape[2], noise: 30 },
    1,
  );
  const model = buildModel(name, classes, [...shape]);
  const data = {
    batches: new BatchMaker(ds.trainImages, ds.header, preprocessFor(dataset, shape[2])),
    headA: ds.trainLabels,
    headB: ds.trainLabels,
  };
  const job = (n: number) => ({
    round: 0,
    client: 0,
    weights: initWeights(model.specs, 1),
    indices: Int32Array.from({ length: n }, (_, i) => i),
    lr: 0.01,
    samples: 'all' as const,
    recipe: { localEpochs: 1, batchSize: batch, momentum: 0.9, weightDecay: 5e-4, seed: 0, augment: true },
  });
  return { model, data, job };
}
