import { join } from 'node:path';
import { packContainer } from '../artifacts/container.ts';
import type { UnlearnMode } from '../artifacts/partition.ts';
import { writeFileAtomic } from '../core/fs-atomic.ts';
import { sha256 } from '../core/hash.ts';
import type { EvalSets } from '../ml/eval/eval-sets.ts';
import { metricNames } from '../ml/eval/metric-names.ts';
import type { Predictor } from '../ml/eval/predict.ts';
import { accuracy, argmax } from '../ml/eval/scores.ts';
import { unlearnedLogits } from '../ml/fedau/unlearn-op.ts';
import type { ModelDef } from '../ml/models/model.ts';
import { classifierOf, type Evaluator } from './federation.ts';

/** The unlearning the live view previews while training (the `unlearn` stage's defaults). */
const PREVIEW = { alpha: 0.9, rule: 'mix', classScale: 1 } as const;

/**
 * The per-round evaluation of a training: the history's figures (the global model's test accuracy and forget
 * metric), the trace's logits of W1 and every W2 (when `traceDir` is given), and the live view's metrics with a
 * preview of the unlearned model. `npm run bench` times rounds with this same evaluation.
 */
export function roundEvaluator(opts: {
  /** Where the logits are computed: this thread, or the trainer threads, which wait while a round is evaluated. */
  predict: Predictor;
  model: ModelDef;
  sets: EvalSets;
  mode: UnlearnMode;
  headIds: number[];
  traceDir?: string;
  /** Told the name and SHA-256 of each trace file written, for the checkpoint to attest. */
  onTraceFile?: (name: string, digest: string) => void;
  onMetrics?: (metrics: Record<string, number>) => void;
}): Evaluator {
  const { model, sets, headIds, traceDir } = opts;
  const names = metricNames(sets.forgetMetric);
  return async (round, weights, heads) => {
    const all = [classifierOf(model, weights), ...headIds.map((k) => heads.get(k)!)];
    const logitsOf = async (set: 'all' | 'forget') => {
      const s = sets[set]!;
      const perHead = await opts.predict(weights, all, s);
      return { s, perHead, interleaved: interleave(perHead, s.count, model.classes) };
    };
    // Both sets at once: a predictor that spreads batches over threads keeps them all busy to the end.
    const [test, forget] = await Promise.all([logitsOf('all'), sets.forget ? logitsOf('forget') : undefined]);
    const record = {
      testAccuracy: accuracy(argmax(test.perHead[0], model.classes), test.s.expected, sets.testMask),
      ...(forget ? { forget: accuracy(argmax(forget.perHead[0], model.classes), forget.s.expected) } : {}),
    };
    const metrics: Record<string, number> = {
      [names.acc]: record.testAccuracy,
      ...(forget ? { [names.forget]: record.forget! } : {}),
    };
    if (traceDir) {
      const sections: Record<string, Float32Array> = { all: test.interleaved };
      if (forget) sections.forget = forget.interleaved;
      const bytes = packContainer('trace-round', { round }, sections);
      await writeFileAtomic(join(traceDir, `r${round}.bin`), bytes, traceDir);
      opts.onTraceFile?.(`r${round}.bin`, sha256(bytes));
    }
    if (headIds.length) {
      const forgotten = headIds.map((_, j) => j + 1);
      const preview = (t: { interleaved: Float32Array; s: { expected: Int32Array } }, mask?: Uint8Array) => {
        const logits = unlearnedLogits(t.interleaved, all.length, model.classes, forgotten, {
          mode: opts.mode,
          ...PREVIEW,
        });
        return accuracy(argmax(logits, model.classes), t.s.expected, mask);
      };
      metrics[names.unlearnedAcc] = preview(test, sets.testMask);
      if (forget) metrics[names.unlearnedForget] = preview(forget);
    }
    opts.onMetrics?.(metrics);
    return record;
  };
}

/** [head][sample][class] arrays as one [sample][head][class] array: a sample's heads side by side. */
function interleave(perHead: Float32Array[], count: number, classes: number): Float32Array {
  const out = new Float32Array(count * perHead.length * classes);
  for (let i = 0; i < count; i++) {
    perHead.forEach((h, j) => {
      out.set(h.subarray(i * classes, (i + 1) * classes), (i * perHead.length + j) * classes);
    });
  }
  return out;
}
