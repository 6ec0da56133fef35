import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Head } from '../../src/artifacts/model.ts';
import { findMnistFiles, loadMnist, npmMnistDir } from '../../src/data/mnist.ts';
import { makePartition } from '../../src/data/partition.ts';
import { initBackend } from '../../src/ml/backends/backend.ts';
import { type EvalSets, makeEvalSets } from '../../src/ml/eval/eval-sets.ts';
import { localPredictor, type Predictor } from '../../src/ml/eval/predict.ts';
import { lenet } from '../../src/ml/models/lenet.ts';
import { initWeights } from '../../src/ml/models/params.ts';
import { createThreadRunner, trainingSet } from '../../src/ml/runners/thread-runner.ts';
import { SAMPLES_PARTITION } from '../helpers/partition-params.ts';

// The per-round evaluation spread over the trainer threads must give the bytes the coordinator computes alone:
// the history, the trace and the live view are all made of these logits.
const model = lenet(10);
const backend = { name: 'wasm' as const };
let sets: EvalSets;
let runners: Awaited<ReturnType<typeof createThreadRunner>>[] = [];
let local: Predictor;

beforeAll(async () => {
  const ds = await loadMnist(await findMnistFiles(npmMnistDir()), { source: 'npm' });
  const partition = makePartition(ds.trainLabels, 10, SAMPLES_PARTITION, 0);
  sets = makeEvalSets(ds, partition);
  const make = (threads: number) => createThreadRunner({ backend, threads, model, ...trainingSet(ds, partition) });
  runners = [await make(2), await make(1)];
  local = localPredictor(await initBackend(backend), model);
}, 120_000);

afterAll(async () => {
  await Promise.all(runners.map((r) => r.runner.close()));
});

const weights = initWeights(model.specs, 3);
const headOf = (seed: number): Head => {
  const [w, b] = initWeights(model.specs, seed).slice(model.classifier.weight, model.classifier.bias + 1);
  return { weight: w, bias: b.map((v, i) => v + 0.01 * i) };
};

describe('evaluating a round on the trainer threads', () => {
  it('gives the bytes a prediction on this thread gives, batch by batch, the partial last batch included', async () => {
    const predict = runners[0].runner.predict!;
    expect(predict).toBeTypeOf('function');
    const heads = [headOf(3), headOf(4)];
    // The triggered test set (8 9xx images: a partial last batch) and the whole test set (10 full batches), at once.
    const forget = sets.forget!;
    expect(forget.count % 1000).not.toBe(0);
    const [onThreads, onThreadsForget] = await Promise.all([
      predict(weights, heads, sets.all),
      predict(weights, heads, forget),
    ]);
    const here = await local(weights, heads, sets.all);
    const hereForget = await local(weights, heads, forget);
    expect(onThreads).toHaveLength(2);
    for (const [a, b] of [
      ...onThreads.map((t, h) => [t, here[h]]),
      ...onThreadsForget.map((t, h) => [t, hereForget[h]]),
    ]) {
      expect(a.length).toBe(b.length);
      expect(Buffer.from(a.buffer).equals(Buffer.from(b.buffer))).toBe(true);
    }
    // The two heads differ, so a mix-up of heads or batches would show.
    expect(Buffer.from(here[0].buffer).equals(Buffer.from(here[1].buffer))).toBe(false);
  });

  it('is offered only with several threads: one thread would only make the coordinator wait for it', () => {
    expect(runners[1].runner.predict).toBeUndefined();
  });

  it('reports a batch that failed in a thread as a clear failure of that set, not a hang', async () => {
    const predict = runners[0].runner.predict!;
    const wrong = weights.map((w, i) => (i === 0 ? w.subarray(1) : w));
    await expect(predict(wrong, [headOf(3)], sets.all)).rejects.toThrow(/evaluating test failed in a trainer thread/);
    // The pool still works afterwards.
    const [again] = await predict(weights, [headOf(3)], sets.all);
    expect(again.length).toBe(10000 * 10);
  });
});
