import { modelHeader } from '../src/artifacts/model.ts';
import { defineStage } from '../src/engine/stage.ts';
import { trainFedau } from '../src/fl/fedau-training.ts';
import { checkTrainingInputs, recipeOf } from '../src/fl/recipe.ts';
import type { TrainFederationParams } from '../src/generated/stage-params.ts';
import { tfjsKeyFacts } from '../src/ml/backends/key-facts.ts';
import { trainingCostNote } from '../src/ml/cost.ts';
import { DEFAULT_MODEL } from '../src/ml/models/index.ts';

export default defineStage<TrainFederationParams>()({
  kind: 'train-federation',
  version: 2,
  summary: 'Train the federation with FedAvg; unlearning clients train their auxiliary head W2 beside W1 (FedAU).',
  inputs: { dataset: 'dataset', partition: 'partition' },
  outputs: { federation: 'federation', history: 'history', trace: 'trace', recording: 'recording' },
  optionalOutputs: {
    recording:
      "add `record: { every: 1, forgetSteps: true }` to the training stage's `with:` (it trains again once; the " +
      'federation comes out byte-identical)',
  },
  runtimeKey: tfjsKeyFacts,
  estimateCost(p, inputs) {
    const meta = inputs.dataset?.meta;
    const model = p.model === 'auto' ? (meta ? DEFAULT_MODEL[String(meta.name)] : undefined) : p.model;
    if (!model) return undefined;
    return trainingCostNote({
      model,
      rounds: p.rounds,
      localEpochs: p.localEpochs,
      clientFraction: p.clientFraction,
      batchSize: p.batchSize,
      trainSize: meta ? Number(meta.train) : undefined,
    });
  },
  async run(ctx, { dataset: ds, partition }) {
    checkTrainingInputs(ds, partition, ctx.stageId);
    const recipe = recipeOf(ctx.params, ds, partition, ctx.seed);
    const record = ctx.params.record && {
      every: ctx.params.record.every ?? 1,
      forgetSteps: !!ctx.params.record.forgetSteps,
    };
    const { model, backend, final, sets, trace, recording, auxSeconds } = await trainFedau(ctx, {
      ds,
      partition,
      recipe,
      retrain: false,
      record,
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
    const history = { model: model.name, dataset: ds.header.name, mode: ph.mode, forgetMetric: sets.forgetMetric };
    return {
      federation: {
        value: { header, weights: final.weights, heads: final.heads },
        meta: { model: model.name, rounds: final.round, auxSeconds: Math.round(auxSeconds * 1000) / 1000 },
      },
      history: {
        value: { ...history, rounds: final.history },
        meta: { seconds: Math.round(final.seconds * 1000) / 1000 },
      },
      trace: { bytes: trace!, meta: { rounds: final.history.length } },
      ...(recording
        ? { recording: { bytes: recording.bytes, meta: { seconds: Math.round(recording.seconds * 1000) / 1000 } } }
        : {}),
    };
  },
});
