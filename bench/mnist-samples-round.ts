// The MNIST samples round that `npm run bench` and `npm run profile` measure: pipelines/mnist-ul-samples.yaml's
// data, partition and model, one normal client's job, and the worker pool the train stage would use.

import { fileURLToPath } from 'node:url';
import { clientIndices } from '../src/artifacts/partition.ts';
import { findMnistFiles, loadMnist, npmMnistDir } from '../src/data/mnist.ts';
import { makePartition, type PartitionParams } from '../src/data/partition.ts';
import type { TrainFederationParams } from '../src/generated/stage-params.ts';
import { loadPipeline } from '../src/index.ts';
import type { BackendChoice } from '../src/ml/backends/backend.ts';
import { lenet } from '../src/ml/models/lenet.ts';
import { initWeights } from '../src/ml/models/params.ts';
import { createThreadRunner, trainingSet } from '../src/ml/runners/thread-runner.ts';
import { stampedTrainImages, trainData } from '../src/ml/train/train-data.ts';

export async function mnistSamplesRound() {
  const ds = await loadMnist(await findMnistFiles(npmMnistDir()), { source: 'npm' });
  // The pipeline's own settings, with their defaults, so the bench measures what the pipeline runs.
  const pipeline = await loadPipeline(fileURLToPath(new URL('../pipelines/mnist-ul-samples.yaml', import.meta.url)));
  // Validated against the stage schemas when the pipeline was loaded.
  const paramsOf = <P>(id: string) => pipeline.stages.find((s) => s.id === id)!.params as unknown as P;
  const partition = makePartition(ds.trainLabels, 10, paramsOf<PartitionParams>('split'), 0);
  const train = paramsOf<TrainFederationParams>('train');
  const model = lenet(10);
  const data = trainData(stampedTrainImages(ds, partition), ds.header, partition.headA, partition.headB);
  const client = [...Array(10).keys()].find((k) => !partition.header.unlearningClients.includes(k))!;
  /** One epoch of the normal client at the pipeline's batch size and augmentation, from the same initial weights. */
  const job = (round: number) => ({
    round,
    client,
    weights: initWeights(model.specs, 1),
    indices: clientIndices(partition, client),
    lr: train.lr,
    samples: 'all' as const,
    recipe: {
      localEpochs: 1,
      batchSize: train.batchSize,
      momentum: train.momentum,
      weightDecay: train.weightDecay,
      seed: 0,
      augment: train.augment,
    },
  });
  const runner = (backend: BackendChoice, threads: number) =>
    createThreadRunner({
      backend,
      threads,
      model,
      ...trainingSet(ds, partition),
    });
  return { ds, partition, model, data, client, job, runner };
}
