// The MNIST samples round that `npm run bench` and `npm run profile` measure: pipelines/mnist-ul-samples.yaml's
// data, partition and model, one normal client's job, and the worker pool the train stage would use.
import { clientIndices } from '../src/artifacts/partition.ts';
import { findMnistFiles, loadMnist, npmMnistDir } from '../src/data/mnist.ts';
import { makePartition } from '../src/data/partition.ts';
import type { BackendChoice } from '../src/ml/backend.ts';
import { lenet } from '../src/ml/models/lenet.ts';
import { initWeights } from '../src/ml/params.ts';
import { createRunner, trainingSet } from '../src/ml/runner.ts';
import { stampedTrainImages, trainData } from '../src/ml/train-data.ts';

export async function mnistSamplesRound() {
  const ds = await loadMnist(await findMnistFiles(npmMnistDir()), { source: 'npm' });
  const partition = makePartition(
    ds.trainLabels,
    10,
    {
      clients: 10,
      scheme: 'iid',
      beta: 1,
      mode: 'samples',
      unlearningClients: 1,
      unlearningClientIds: [],
      proportion: 0.01,
      classId: 9,
      target: 0,
      trigger: { size: 15, x: 0, y: 0, value: 255 },
      excludeTarget: true,
    },
    0,
  );
  const model = lenet(10);
  const opt = { momentum: 0.9, weightDecay: 5e-4 };
  const data = trainData(stampedTrainImages(ds, partition), ds.header, partition.headA, partition.headB);
  const client = [...Array(10).keys()].find((k) => !partition.header.unlearningClients.includes(k))!;
  /** One epoch of the normal client at batch 128, with augmentation, from the same initial weights. */
  const job = (round: number) => ({
    round,
    client,
    weights: initWeights(model.specs, 1),
    indices: clientIndices(partition, client),
    lr: 0.01,
    epochs: 1,
    batchSize: 128,
    seed: 0,
    augment: true,
  });
  const runner = (backend: BackendChoice, workers: number) =>
    createRunner({
      backend,
      workers,
      model,
      ...trainingSet(ds, partition),
      optimizer: opt,
    });
  return { ds, partition, model, opt, data, client, job, runner };
}
