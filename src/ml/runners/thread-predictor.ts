import { FedauError } from '../../core/errors.ts';
import { PREDICT_BATCH, type Predictor } from '../eval/predict.ts';
import type { ModelDef } from '../models/model.ts';
import { flattenWeights } from '../models/params.ts';
import type { Dispatcher, ThreadTask } from './dispatcher.ts';

/**
 * Predicts on the trainer threads, which wait idle while the coordinator evaluates a round: the set is cut into the
 * batches `predictLogits` would compute one by one, each batch goes to a free thread, and the logits are put back
 * in order. Every thread runs the same backend and kernels, and a batch is computed whole wherever it runs, so the
 * logits are the bytes a local prediction gives.
 */
export function threadPredictor(dispatcher: Dispatcher, model: ModelDef): Predictor {
  const [H, W, C] = model.inputShape;
  const size = H * W * C;
  return async (weights, heads, set) => {
    const flat = flattenWeights(weights);
    const sharedWeights = new Float32Array(new SharedArrayBuffer(flat.byteLength));
    sharedWeights.set(flat);
    // A set built outside `evalSetOf` may not be shared yet: one copy, instead of one per batch.
    const x = set.x.buffer instanceof SharedArrayBuffer ? set.x : copyToShared(set.x);
    const tasks: ThreadTask<{ at: number; logits: Float32Array[] }>[] = [];
    for (let at = 0; at < set.count; at += PREDICT_BATCH) {
      const count = Math.min(PREDICT_BATCH, set.count - at);
      tasks.push({
        start: (id) => ({
          message: {
            type: 'predict',
            id,
            weights: sharedWeights,
            heads,
            x: x.subarray(at * size, (at + count) * size),
            count,
          },
          transfer: [],
        }),
        answer: (m) => {
          if (m.type === 'error') {
            throw new FedauError(
              'FEDAU_STAGE_FAILED',
              `evaluating ${set.name} failed in a trainer thread: ${m.error.message}`,
              {
                cause: m.error.stack,
              },
            );
          }
          return m.type === 'logits' ? { at, logits: m.logits } : undefined;
        },
      });
    }
    const out = heads.map(() => new Float32Array(set.count * model.classes));
    for (const { at, logits } of await dispatcher.run(tasks, () => {})) {
      logits.forEach((l, h) => {
        out[h].set(l, at * model.classes);
      });
    }
    return out;
  };
}

function copyToShared(a: Float32Array): Float32Array {
  const copy = new Float32Array(new SharedArrayBuffer(a.byteLength));
  copy.set(a);
  return copy;
}
