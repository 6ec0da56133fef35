import { unpackFederation } from '../src/artifacts/federation.ts';
import { packHistory } from '../src/artifacts/history.ts';
import { modelHeader, packModel } from '../src/artifacts/model.ts';
import { DataError } from '../src/core/errors.ts';
import { defineStage } from '../src/engine/stage.ts';
import type { RetrainParams } from '../src/generated/stage-params.ts';
import { readTrainingInputs, trainFederationInStage } from './shared/federated-training-stage.ts';

/**
 * The gold standard an unlearning method is judged against: the federation trained again from scratch without the
 * forget set (the samples, the class at every unlearning client, or the whole client). It replays the FedAU
 * training's recipe (hyper-parameters, seed, aggregation) with plain FedAvg and no auxiliary heads, from the same
 * initial weights, each remaining sample keeping its place in every shuffle and its augmentation.
 */
export default defineStage<RetrainParams>({
  kind: 'retrain',
  version: 1,
  summary: 'Retrain the federation from scratch without the forget set: the baseline that unlearning is judged by.',
  inputs: { dataset: 'dataset', partition: 'partition', federation: 'federation' },
  outputs: { model: 'model', history: 'history' },
  // It replays the federation's own seed (in its recipe): a seed of its own would change nothing.
  seeded: () => false,
  usesTfjs: true,
  async run(ctx) {
    const { ds, partition } = await readTrainingInputs(ctx);
    const fed = unpackFederation(await ctx.readArtifact(ctx.inputs.federation));
    const ph = partition.header;
    if (fed.header.clients !== ph.clients || fed.header.unlearningClients.join() !== ph.unlearningClients.join()) {
      throw new DataError('the federation was not trained on this partition', {
        path: `stages.${ctx.stageId}.needs`,
        hint: 'wire retrain to the partition the federation was trained on',
      });
    }
    const recipe = fed.header.recipe;
    const { model, backend, final, sets } = await trainFederationInStage(ctx, { ds, partition, recipe, retrain: true });
    const header = {
      ...modelHeader(model, ds.header.name),
      retrained: { rounds: final.round, excluded: ph.forgetCount },
    };
    const seconds = Math.round(final.seconds * 1000) / 1000;
    const history = {
      model: model.name,
      dataset: ds.header.name,
      mode: ph.mode,
      forgetMetric: sets.forgetMetric,
      rounds: final.history,
    };
    return {
      model: await ctx.writeArtifact('model', packModel({ header, weights: final.weights }), { seconds, backend }),
      history: await ctx.writeArtifact('history', packHistory(history), { seconds }),
    };
  },
});
