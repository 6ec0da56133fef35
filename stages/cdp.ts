import type { Dataset } from '../src/artifacts/dataset.ts';
import { DataError } from '../src/core/errors.ts';
import { Rng } from '../src/core/rng.ts';
import { defineStage } from '../src/engine/stage.ts';
import { applyPruning, channelsToPrune, type PrunedChannel, tfIdfScores } from '../src/fl/methods/cdp.ts';
import { checkMode, methodModel, trainMethod } from '../src/fl/methods/method-training.ts';
import { fedAvgPhase } from '../src/fl/methods/retained-fedavg.ts';
import { checkTrainingInputs } from '../src/fl/recipe.ts';
import type { CdpParams } from '../src/generated/stage-params.ts';
import { tfjsKeyFacts } from '../src/ml/backends/key-facts.ts';
import { classChannelActivations } from '../src/ml/eval/activations.ts';
import { evalSetOf } from '../src/ml/eval/eval-sets.ts';

/** Class-discriminative pruning (design §7.4): prune the class's most discriminative channels, then fine-tune. */
export default defineStage<CdpParams>()({
  kind: 'cdp',
  version: 1,
  summary: 'Class-discriminative pruning: prune the channels with the highest TF-IDF for the class, then fine-tune.',
  inputs: { dataset: 'dataset', partition: 'partition', federation: 'federation' },
  outputs: { model: 'model' },
  runtimeKey: tfjsKeyFacts,
  async run(ctx, { dataset: ds, partition, federation: fed }) {
    checkTrainingInputs(ds, partition, ctx.stageId);
    checkMode('cdp', fed, ['class'], ctx.stageId);
    const { recipe } = fed.header;
    const classId = partition.header.classId!;
    let pruned: PrunedChannel[] = [];
    const prune = (w: Float32Array[]) => applyPruning(w, fed.header.specs, pruned);
    const strategy = fedAvgPhase({
      partition,
      recipe,
      samples: 'retain',
      firstRound: fed.header.rounds,
      afterAggregate: prune,
    });
    let start = fed.weights;
    const { final, backend } = await trainMethod(ctx, {
      ds,
      partition,
      fed,
      start: fed.weights,
      strategy,
      rounds: ctx.params.rounds,
      label: `class-discriminative pruning of class ${classId}, then ${ctx.params.rounds} FedAvg rounds`,
      before: async (session) => {
        if (!session.model.tapsConvolutions) {
          throw new DataError(`cdp prunes convolution channels, which model ${session.model.name} does not report`, {
            path: `stages.${ctx.stageId}`,
            hint: 'use cdp with lenet or alexnet',
          });
        }
        const set = scoringSet(ds, ctx.params.images, ctx.seed);
        const F = await classChannelActivations(session.tf, session.model, fed.weights, set);
        const layers = [...F].map(([weightIndex, f]) => ({ weightIndex, scores: tfIdfScores(f, classId) }));
        pruned = channelsToPrune(layers, ctx.params.fraction);
        start = prune(fed.weights);
        ctx.log('info', `pruned ${pruned.length} of ${layers.reduce((n, l) => n + l.scores.length, 0)} channels`);
      },
      startOf: () => start,
    });
    const method = {
      id: 'cdp' as const,
      clients: fed.header.unlearningClients,
      rounds: ctx.params.rounds,
      storageBytes: 0,
      params: { ...ctx.params, pruned: pruned.length },
    };
    return { model: { value: methodModel(fed, final.weights, method), meta: { seconds: final.seconds, backend } } };
  },
});

/** A seeded sample of the training images (every client's, the class's included), with their true labels. */
function scoringSet(ds: Dataset, count: number, seed: number) {
  const n = ds.trainLabels.length;
  const picked = new Rng(seed, 'cdp/images').sample(
    Array.from({ length: n }, (_, i) => i),
    Math.min(count, n),
  );
  return evalSetOf(ds, 'pruning sample', ds.trainImages, picked, (i) => ds.trainLabels[i]);
}
