import type { Dataset } from '../artifacts/dataset.ts';
import type { PartitionHeader } from '../artifacts/partition.ts';
import { BatchMaker, preprocessFor, stampTrigger } from './preprocess.ts';

/** Normalised test images and what a correct prediction is for each. */
export interface EvalSet {
  name: string;
  x: Float32Array;
  expected: Int32Array;
  count: number;
}

export type ForgetMetric = 'backdoor-asr' | 'class-accuracy' | 'none';

export interface EvalSets {
  /** The test split; in class mode without the forgotten class (reference §2.5). */
  test: EvalSet;
  /** Samples and client modes: the triggered test set, expected = the target (so accuracy = attack success rate).
   *  Class mode: the forgotten class's test images, expected = their class. */
  forget?: EvalSet;
  forgetMetric: ForgetMetric;
}

export function forgetMetricOf(mode: string): ForgetMetric {
  return mode === 'class' ? 'class-accuracy' : mode === 'samples' || mode === 'client' ? 'backdoor-asr' : 'none';
}

/**
 * The evaluation sets, with the test transform only (reference §8 #7): the test accuracy set and the forget
 * set, which for backdoor modes is the triggered test set (test images whose class is not the target, with the
 * trigger stamped).
 */
export function makeEvalSets(
  ds: Dataset,
  p: Pick<PartitionHeader, 'mode' | 'classId' | 'target' | 'trigger'>,
): EvalSets {
  const h = ds.header;
  const size = h.height * h.width * h.channels;
  const pre = preprocessFor(h.name, h.channels);
  const build = (
    name: string,
    pick: (label: number) => boolean,
    expected: (label: number) => number,
    trigger?: PartitionHeader['trigger'],
  ): EvalSet => {
    const idx: number[] = [];
    for (const [i, l] of ds.testLabels.entries()) if (pick(l)) idx.push(i);
    let images = ds.testImages;
    if (trigger) {
      images = new Uint8Array(idx.length * size);
      idx.forEach((from, to) => {
        images.set(ds.testImages.subarray(from * size, (from + 1) * size), to * size);
        stampTrigger(images, to, h, trigger);
      });
    }
    const x = new Float32Array(idx.length * size);
    new BatchMaker(images, h, pre).fill(x, trigger ? idx.map((_, i) => i) : idx);
    return { name, x, expected: Int32Array.from(idx, (i) => expected(ds.testLabels[i])), count: idx.length };
  };
  const forgetMetric = forgetMetricOf(p.mode);
  if (p.mode === 'class') {
    const c = p.classId!;
    return {
      test: build(
        'test',
        (l) => l !== c,
        (l) => l,
      ),
      forget: build(
        'forgotten class',
        (l) => l === c,
        (l) => l,
      ),
      forgetMetric,
    };
  }
  const test = build(
    'test',
    () => true,
    (l) => l,
  );
  if (forgetMetric === 'backdoor-asr') {
    const t = p.target!;
    return {
      test,
      forget: build(
        'triggered test',
        (l) => l !== t,
        () => t,
        p.trigger,
      ),
      forgetMetric,
    };
  }
  return { test, forgetMetric };
}
