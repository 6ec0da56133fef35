import { flattenWeights } from '../../ml/models/params.ts';
import { type ClientJob, type ClientResult, expectedWork } from '../../ml/train/job.ts';
import { sameFloats } from './verify.ts';

/** An answer that cannot be right whatever the data: wrong sizes, missing parts, counts that do not add up. */
export class MalformedAnswer extends Error {}

/** Byte for byte the same update: weights, head, forget-step changes and loss. */
export function sameResult(a: ClientResult, b: ClientResult): boolean {
  const same = (x?: Float32Array[], y?: Float32Array[]) => sameFloats(flattenWeights(x ?? []), flattenWeights(y ?? []));
  return (
    same(a.weights, b.weights) &&
    same(a.head, b.head) &&
    same(a.forgetSteps, b.forgetSteps) &&
    Object.is(a.loss, b.loss)
  );
}

/** The form any right answer has: the model's sizes, the parts asked for and only those, counts the data implies. */
export function checkForm(
  e: {
    weights: Float32Array;
    head?: Float32Array;
    forgetSteps?: Float32Array;
    steps: number;
    samples: number;
    loss: number;
    ms: number;
  },
  job: ClientJob,
  sizes: { weights: number; head: number },
  forget: Uint8Array,
): void {
  if (e.weights.length !== sizes.weights)
    throw new MalformedAnswer(`${e.weights.length} weights, the model has ${sizes.weights}`);
  if (!!job.head !== !!e.head) throw new MalformedAnswer(job.head ? 'no auxiliary head' : 'an unasked-for head');
  if (e.head && e.head.length !== sizes.head) throw new MalformedAnswer(`a head of ${e.head.length} values`);
  if (!!job.recordForgetSteps !== !!e.forgetSteps) throw new MalformedAnswer('forget-step changes not as asked');
  if (e.forgetSteps && e.forgetSteps.length !== sizes.weights)
    throw new MalformedAnswer('forget-step changes of the wrong size');
  const want = expectedWork(job, job.indices, forget);
  if (e.steps !== want.steps || e.samples !== want.samples) {
    throw new MalformedAnswer(
      `${e.steps} steps over ${e.samples} samples, its data gives ${want.steps} over ${want.samples}`,
    );
  }
  if (typeof e.loss !== 'number' || typeof e.ms !== 'number') throw new MalformedAnswer('no loss or time');
}
