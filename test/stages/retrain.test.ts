import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { unpackFederation } from '../../src/artifacts/federation.ts';
import { unpackHistory } from '../../src/artifacts/history.ts';
import { unpackModel } from '../../src/artifacts/model.ts';
import { unpackPartition } from '../../src/artifacts/partition.ts';
import { ArtifactStore } from '../../src/engine/store.ts';
import { runPipeline } from '../../src/index.ts';
import { initBackend } from '../../src/ml/backends/backend.ts';
import { lenet } from '../../src/ml/models/lenet.ts';
import { initWeights } from '../../src/ml/models/params.ts';
import { type TrainData, trainClient } from '../../src/ml/train/client-train.ts';
import { BatchMaker, preprocessFor } from '../../src/ml/train/preprocess.ts';
import { tempDir, writeFiles } from '../helpers/run-inline.ts';

const PIPELINE = (split: string) => `
name: retrain-test
stages:
  data: { uses: dataset, with: { name: mnist, source: synthetic, synthetic: { train: 240, test: 60 } } }
  split: { uses: partition, needs: { dataset: data.dataset }, with: { clients: 3, ${split} } }
  train:
    uses: train-federation
    needs: { dataset: data.dataset, partition: split.partition }
    with: { model: lenet, rounds: 2, localEpochs: 1, batchSize: 16, lr: 0.05 }
  retrain: { uses: retrain, needs: { dataset: data.dataset, partition: split.partition, federation: train.federation } }
`;

async function run(split: string) {
  const dir = await tempDir();
  await writeFiles(dir, { 'p.yaml': PIPELINE(split) });
  const store = new ArtifactStore(join(dir, 'store'));
  const result = await runPipeline(join(dir, 'p.yaml'), { store: store.root, workDir: dir, workers: 1 });
  expect(result.status, JSON.stringify(result.stages)).toBe('success');
  const bytes = (stage: string, out: string) => store.getBytes(result.stages[stage].outputs![out]);
  return {
    federation: unpackFederation(await bytes('train', 'federation')),
    retrained: unpackModel(await bytes('retrain', 'model')),
    trainHistory: unpackHistory(await bytes('train', 'history')),
    retrainHistory: unpackHistory(await bytes('retrain', 'history')),
    partition: unpackPartition(await bytes('split', 'partition')),
  };
}

describe('the retrain baseline', () => {
  it('with nothing to forget, it is the FedAU training itself: same weights, order, augmentation', async () => {
    const r = await run('mode: none');
    expect(r.retrained.header.retrained).toEqual({ rounds: 2, excluded: 0 });
    const bytes = (a: Float32Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);
    r.federation.weights.forEach((w, i) => {
      expect(bytes(r.retrained.weights[i]).equals(bytes(w)), r.federation.header.specs[i].name).toBe(true);
    });
    // And a check that the comparison can fail: FedAU's weights differ from their initial values.
    expect(
      bytes(r.federation.weights[0]).equals(bytes(initWeights(lenet(10).specs, r.federation.header.recipe.seed)[0])),
    ).toBe(false);
  });

  it('samples mode: it trains on everything but the forget set', async () => {
    const r = await run('mode: samples, unlearningClients: 1, proportion: 0.1');
    const forgotten = r.partition.header.forgetCount;
    expect(forgotten).toBe(24);
    expect(r.trainHistory.rounds.map((x) => x.samples)).toEqual([240, 240]);
    expect(r.retrainHistory.rounds.map((x) => x.samples)).toEqual([240 - forgotten, 240 - forgotten]);
    expect(r.retrained.header.retrained).toEqual({ rounds: 2, excluded: forgotten });
  });

  it('client mode: the forgotten client trains nothing and weighs nothing', async () => {
    const r = await run('mode: client, unlearningClients: 1, proportion: 0.2');
    const k = r.partition.header.unlearningClients[0];
    const size = r.partition.header.clientSizes[k];
    expect(r.partition.header.forgetCount).toBe(size);
    const total = r.partition.header.clientSizes.reduce((a, b) => a + b, 0);
    expect(r.retrainHistory.rounds.map((x) => x.samples)).toEqual([total - size, total - size]);
  });

  it('a retraining client never puts a forget-set sample in a batch', async () => {
    const tf = await initBackend({ name: 'cpu' });
    const images = Uint8Array.from({ length: 40 * 784 }, (_, i) => (i * 7) % 256);
    const labels = Uint8Array.from({ length: 40 }, (_, i) => i % 10);
    const forget = Uint8Array.from({ length: 40 }, (_, i) => (i % 3 === 0 ? 1 : 0));
    const batches = new BatchMaker(images, { height: 28, width: 28, channels: 1 }, preprocessFor('mnist', 1));
    const written: number[] = [];
    const write = batches.write.bind(batches);
    batches.write = (out, dst, index, aug) => {
      written.push(index);
      write(out, dst, index, aug);
    };
    const data: TrainData = { batches, headA: labels, headB: labels, forget };
    const model = lenet(10);
    const job = {
      round: 0,
      client: 0,
      weights: initWeights(model.specs, 1),
      indices: Int32Array.from({ length: 40 }, (_, i) => i),
    };
    const result = await trainClient(tf, model, data, {
      ...job,
      lr: 0.01,
      samples: 'retain' as const,
      recipe: { localEpochs: 2, batchSize: 8, momentum: 0.9, weightDecay: 5e-4, seed: 3, augment: true },
    });
    expect(written.length).toBe(2 * 26);
    expect(written.filter((i) => forget[i])).toEqual([]);
    expect(result.samples).toBe(2 * 26);
  });
});
