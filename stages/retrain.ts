import { modelHeader } from '../src/artifacts/model.ts';
import { DataError } from '../src/core/errors.ts';
import { defineStage } from '../src/engine/stage.ts';
import { trainFedau } from '../src/fl/fedau-training.ts';
import { checkTrainingInputs } from '../src/fl/recipe.ts';
import type { RetrainParams } from '../src/generated/stage-params.ts';
import { tfjsKeyFacts } from '../src/ml/backends/key-facts.ts';

/**
 * The gold standard an unlearning method is judged against: the federation trained again from scratch without the
 * forget set (the samples, the class at every unlearning client, or the whole client). It replays the FedAU
 * training's recipe (hyper-parameters, seed, aggregation) with plain FedAvg and no auxiliary heads, from the same
 * initial weights, each remaining sample keeping its place in every shuffle and its augmentation.
 */
export default defineStage<RetrainParams>()({
  kind: 'retrain',
  version: 1,
  summary: 'Retrain the federation from scratch without the forget set: the baseline that unlearning is judged by.',
  inputs: { dataset: 'dataset', partition: 'partition', federation: 'federation' },
  outputs: { model: 'model', history: 'history' },
  // It replays the federation's own seed (in its recipe): a seed of its own would change nothing.
  seeded: () => false,
  runtimeKey: tfjsKeyFacts,
  async run(ctx, { dataset: ds, partition, federation: fed }) {
    checkTrainingInputs(ds, partition, ctx.stageId);
    const ph = partition.header;
    if (fed.header.clients !== ph.clients || fed.header.unlearningClients.join() !== ph.unlearningClients.join()) {
      throw new DataError('the federation was not trained on this partition', {
        path: `stages.${ctx.stageId}.needs`,
        hint: 'wire retrain to the partition the federation was trained on',
      });
    }
    const recipe = fed.header.recipe;
    const { model, backend, final, sets } = await trainFedau(ctx, { ds, partition, recipe, retrain: true });
    const header = {
      ...modelHeader(model, ds.header.name),
      retrained: { rounds: final.round, excluded: ph.forgetCount },
    };
    const seconds = Math.round(final.seconds * 1000) / 1000;
    const history = { model: model.name, dataset: ds.header.name, mode: ph.mode, forgetMetric: sets.forgetMetric };
    return {
      model: { value: { header, weights: final.weights }, meta: { seconds, backend } },
      history: { value: { ...history, rounds: final.history }, meta: { seconds } },
    };
  },
});
