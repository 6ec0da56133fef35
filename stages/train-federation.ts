import type { Dataset } from '../src/artifacts/dataset.ts';
import { packFederation, type TrainingRecipe } from '../src/artifacts/federation.ts';
import { packHistory } from '../src/artifacts/history.ts';
import { modelHeader } from '../src/artifacts/model.ts';
import type { Partition } from '../src/artifacts/partition.ts';
import { defineStage } from '../src/engine/stage.ts';
import type { TrainFederationParams } from '../src/generated/stage-params.ts';
import { trainingCostNote } from '../src/ml/cost.ts';
import { referenceLrDecay } from '../src/fl/federation.ts';
import { DEFAULT_MODEL } from '../src/ml/models/index.ts';
import { readTrainingInputs, trainFederationInStage } from './shared/federated-training-stage.ts';

export default defineStage<TrainFederationParams>({
  kind: 'train-federation',
  version: 2,
  summary: 'Train the federation with FedAvg; unlearning clients train their auxiliary head W2 beside W1 (FedAU).',
  inputs: { dataset: 'dataset', partition: 'partition' },
  outputs: { federation: 'federation', history: 'history', trace: 'trace' },
  usesTfjs: true,
  estimateCost(p, inputs) {
    const meta = inputs.dataset?.meta;
    const model = p.model === 'auto' ? (meta ? DEFAULT_MODEL[String(meta.name)] : undefined) : p.model;
    if (!model) return undefined;
    return trainingCostNote({
      model,
      rounds: p.rounds,
      localEpochs: p.localEpochs,
      batchSize: p.batchSize,
      trainSize: meta ? Number(meta.train) : undefined,
    });
  },
  async run(ctx) {
    const { ds, partition } = await readTrainingInputs(ctx);
    const recipe = recipeOf(ctx.params, ds, partition, ctx.seed);
    const { model, backend, final, sets, trace } = await trainFederationInStage(ctx, {
      ds,
      partition,
      recipe,
      retrain: false,
    });
    const ph = partition.header;
    const header = {
      ...modelHeader(model, ds.header.name),
      rounds: final.round,
      clients: ph.clients,
      mode: ph.mode,
      unlearningClients: ph.unlearningClients,
      backend,
      recipe,
    };
    const bytes = packFederation({ header, weights: final.weights, heads: final.heads });
    const history = { model: model.name, dataset: ds.header.name, mode: ph.mode, forgetMetric: sets.forgetMetric };
    return {
      federation: await ctx.writeArtifact('federation', bytes, { model: model.name, rounds: final.round }),
      history: await ctx.writeArtifact('history', packHistory({ ...history, rounds: final.history }), {
        seconds: Math.round(final.seconds * 1000) / 1000,
      }),
      trace: await ctx.writeArtifact('trace', trace!, { rounds: final.history.length }),
    };
  },
});

/** The training's settings, resolved: what the federation records so that a retrain can replay it. */
function recipeOf(p: TrainFederationParams, ds: Dataset, partition: Partition, seed: number): TrainingRecipe {
  const ph = partition.header;
  const reanchor =
    p.reanchor === 'always' ||
    (p.reanchor === 'auto' && (ph.mode === 'client' || (ph.mode === 'samples' && ds.header.name === 'cifar100')));
  return {
    model: p.model === 'auto' ? (DEFAULT_MODEL[ds.header.name] ?? 'lenet') : p.model,
    rounds: p.rounds,
    localEpochs: p.localEpochs,
    batchSize: p.batchSize,
    lr: p.lr,
    lrDecay: p.lrDecay ?? referenceLrDecay(p.rounds),
    momentum: p.momentum,
    weightDecay: p.weightDecay,
    augment: p.augment,
    gamma: reanchor ? p.gamma : null,
    aggregation: p.aggregation === 'auto' ? (ph.scheme === 'dirichlet' ? 'size' : 'equal') : p.aggregation,
    evalEvery: p.evalEvery,
    seed,
  };
}
