import type { Dataset } from '../../artifacts/dataset.ts';
import type { ForgetMetric } from '../../artifacts/metrics.ts';
import type { Partition, UnlearnMode } from '../../artifacts/partition.ts';
import { BatchMaker, preprocessFor, stampTrigger } from '../train/preprocess.ts';
import { stampedTrainImages } from '../train/train-data.ts';

/** Normalised images (test transform only) and, for each, the class a correct or "forgotten" answer is. */
export interface EvalSet {
  name: string;
  x: Float32Array;
  expected: Int32Array;
  count: number;
}

export interface EvalSets {
  /** The whole test split with its true labels: per-class accuracy, agreement and KL are taken on it. */
  all: EvalSet;
  /** Which test images count for the test accuracy: class mode leaves out the forgotten class (design §2.5). */
  testMask?: Uint8Array;
  /**
   * The forget metric's set, `expected` being the answer the metric counts: the triggered test set expected as the
   * target (backdoor modes: accuracy = attack success rate), the forgotten class's test images (class mode), or the
   * forgotten training samples with their true labels (random-label mode, which has no test counterpart).
   */
  forget?: EvalSet;
  /**
   * The forgotten training samples themselves, scored like `forget`; `trained` is the label W1 was taught on each
   * (the target for a backdoor), which the membership-inference attack measures the loss against.
   */
  forgetTrain?: EvalSet & { trained: Int32Array };
  /** Unseen samples of the forget set's kind, with the labels to measure their loss against. */
  nonMembers?: EvalSet;
  /** The test image each row of `nonMembers` comes from (when it is not the whole test set in order). */
  nonMembersTestIndex?: number[];
  forgetMetric: ForgetMetric;
}

export function forgetMetricOf(mode: UnlearnMode | string): ForgetMetric {
  if (mode === 'class') return 'class-accuracy';
  if (mode === 'samples' || mode === 'client') return 'backdoor-asr';
  if (mode === 'random-label') return 'forget-accuracy';
  return 'none';
}

/** Images of `images` (a dataset's layout) at `indices`, normalised with the test transform, and their answers. */
export function evalSetOf(
  ds: Dataset,
  name: string,
  images: Uint8Array,
  indices: number[],
  expected: (i: number) => number,
  pre = preprocessFor(ds.header.name, ds.header.channels),
): EvalSet {
  const h = ds.header;
  // Shared memory: trainer threads read batches of it in place when they evaluate a round (thread-predictor.ts).
  const x = new Float32Array(new SharedArrayBuffer(indices.length * h.height * h.width * h.channels * 4));
  new BatchMaker(images, h, pre).fill(x, indices);
  return { name, x, expected: Int32Array.from(indices, expected), count: indices.length };
}

/**
 * The evaluation sets, with the test transform only (design D7). The backdoor's forget set is the triggered
 * test set: test images whose class is not the target, with the trigger stamped.
 */
export function makeEvalSets(ds: Dataset, partition: Partition): EvalSets {
  const h = ds.header;
  const p = partition.header;
  const pre = preprocessFor(h.name, h.channels);
  const build = (name: string, images: Uint8Array, indices: number[], expected: (i: number) => number) =>
    evalSetOf(ds, name, images, indices, expected, pre);
  const testIndices = (pick: (label: number) => boolean) =>
    [...ds.testLabels.keys()].filter((i) => pick(ds.testLabels[i]));
  const all = build('test', ds.testImages, [...ds.testLabels.keys()], (i) => ds.testLabels[i]);
  const forgetMetric = forgetMetricOf(p.mode);
  if (forgetMetric === 'none') return { all, forgetMetric };

  const forgotten = [...partition.forget.keys()].filter((i) => partition.forget[i]);
  const trainImages = stampedTrainImages(ds, partition);
  const trainSet = (expected: (i: number) => number) => ({
    ...build('forgotten training samples', trainImages, forgotten, expected),
    trained: Int32Array.from(forgotten, (i) => partition.headA[i]),
  });

  if (forgetMetric === 'class-accuracy') {
    const c = p.classId!;
    const classImages = testIndices((l) => l === c);
    const forget = build('forgotten class', ds.testImages, classImages, (i) => ds.testLabels[i]);
    const testMask = Uint8Array.from(ds.testLabels, (l) => (l === c ? 0 : 1));
    const forgetTrain = trainSet((i) => ds.trainLabels[i]);
    return { all, testMask, forget, forgetTrain, nonMembers: forget, nonMembersTestIndex: classImages, forgetMetric };
  }
  if (forgetMetric === 'backdoor-asr') {
    const t = p.target!;
    const idx = testIndices((l) => l !== t);
    const stamped = new Uint8Array(idx.length * h.height * h.width * h.channels);
    const size = h.height * h.width * h.channels;
    idx.forEach((from, to) => {
      stamped.set(ds.testImages.subarray(from * size, (from + 1) * size), to * size);
      stampTrigger(stamped, to, h, p.trigger!);
    });
    const forget = build('triggered test', stamped, [...idx.keys()], () => t);
    return { all, forget, forgetTrain: trainSet(() => t), nonMembers: forget, nonMembersTestIndex: idx, forgetMetric };
  }
  // Random labels: the forget metric is the accuracy on the forgotten samples themselves.
  const forgetTrain = trainSet((i) => ds.trainLabels[i]);
  return { all, forget: forgetTrain, forgetTrain, nonMembers: all, forgetMetric };
}
