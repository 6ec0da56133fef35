import type * as tfType from '@tensorflow/tfjs';
import type { TrainingRecipe } from '../../artifacts/federation.ts';
import type { Weights } from '../../artifacts/model.ts';
import { clientIndices, type Partition } from '../../artifacts/partition.ts';
import type { EvalSet } from '../../ml/eval/eval-sets.ts';
import { predictLogits } from '../../ml/eval/predict.ts';
import { accuracy, argmax } from '../../ml/eval/scores.ts';
import type { ModelDef } from '../../ml/models/model.ts';
import { type TrainData, trainClient } from '../../ml/train/client-train.ts';
import { localRecipe } from '../../ml/train/job.ts';
import { fedAvg } from '../fedavg.ts';

/** How relearning is run: the cap, the lr, and the point at which the forgotten knowledge counts as back. */
export interface RelearnSettings {
  maxRounds: number;
  lr: number;
  /** The forget metric at which relearning stops: half the original model's. */
  threshold: number;
}

/** Seeds relearning's shuffles apart from any training round (design §10). */
const RELEARN_ROUND = 1_000_000;

/**
 * Relearn time (design §12): FedAvg rounds, each forgotten client training one epoch on its forget data with the
 * labels it had (the backdoor target, the class), until the forget metric is back to `threshold`; 0 when it already
 * is; `maxRounds` with `capped` when it never comes back within the cap. A model that truly forgot relearns as slowly
 * as the retrained one.
 */
export async function relearnRounds(
  tf: typeof tfType,
  opts: {
    model: ModelDef;
    weights: Weights;
    data: TrainData;
    partition: Partition;
    recipe: TrainingRecipe;
    clients: number[];
    forgetSet: EvalSet;
    settings: RelearnSettings;
  },
): Promise<{ rounds: number; capped: boolean; curve: number[] }> {
  const { model, partition, settings } = opts;
  const forgetMetric = async (w: Weights) => {
    const [logits] = await predictLogits(tf, model, w, [classifier(model, w)], opts.forgetSet);
    return accuracy(argmax(logits, model.classes), opts.forgetSet.expected);
  };
  const sizes = opts.clients.map((k) => clientIndices(partition, k).filter((i) => partition.forget[i]).length);
  const climbers = opts.clients.filter((_, j) => sizes[j] > 0);
  const recipe = localRecipe({ ...opts.recipe, localEpochs: 1 });
  let weights = opts.weights;
  const curve = [await forgetMetric(weights)];
  for (let r = 0; r < settings.maxRounds && curve[r] < settings.threshold && climbers.length; r++) {
    const results = [];
    for (const k of climbers) {
      results.push(
        await trainClient(tf, model, opts.data, {
          round: RELEARN_ROUND + r,
          client: k,
          weights,
          indices: clientIndices(partition, k),
          lr: settings.lr,
          recipe,
          samples: 'forget',
        }),
      );
    }
    weights = fedAvg(
      results.map((x) => x.weights),
      results.map((x) => x.samples),
    );
    curve.push(await forgetMetric(weights));
  }
  const back = curve.findIndex((v) => v >= settings.threshold);
  return back >= 0 ? { rounds: back, capped: false, curve } : { rounds: settings.maxRounds, capped: true, curve };
}

function classifier(model: ModelDef, w: Weights) {
  return { weight: w[model.classifier.weight], bias: w[model.classifier.bias] };
}
