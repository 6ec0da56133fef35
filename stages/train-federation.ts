import { unpackDataset } from '../src/artifacts/dataset.ts';
import { packFederation } from '../src/artifacts/federation.ts';
import { packHistory, type RoundRecord } from '../src/artifacts/history.ts';
import { modelHeader } from '../src/artifacts/model.ts';
import { unpackPartition } from '../src/artifacts/partition.ts';
import { DataError } from '../src/engine/errors.ts';
import { defineStage } from '../src/engine/stage.ts';
import type { TrainFederationParams } from '../src/generated/stage-params.ts';
import { backendLabel, chooseBackend, initBackend } from '../src/ml/backend.ts';
import { loadCheckpoint, saveCheckpoint } from '../src/ml/checkpoint.ts';
import { trainingCostNote, WASM_MAX_BATCH } from '../src/ml/cost.ts';
import { makeEvalSets } from '../src/ml/eval-sets.ts';
import {
  type FederationSettings,
  initialState,
  referenceLrDecay,
  runFederation,
} from '../src/ml/federated-training.ts';
import { metricNames } from '../src/ml/metric-names.ts';
import { buildModel, DEFAULT_MODEL, type ModelName } from '../src/ml/models/index.ts';
import { roundMetrics } from '../src/ml/predict.ts';
import { createRunner } from '../src/ml/runner.ts';
import { stampedTrainImages } from '../src/ml/train-data.ts';

export default defineStage<TrainFederationParams>({
  kind: 'train-federation',
  version: 1,
  summary: 'Train the federation with FedAvg; unlearning clients train their auxiliary head W2 beside W1 (FedAU).',
  inputs: { dataset: 'dataset', partition: 'partition' },
  outputs: { federation: 'federation', history: 'history' },
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
    const p = ctx.params;
    const ds = unpackDataset(await ctx.readArtifact(ctx.inputs.dataset));
    const partition = unpackPartition(await ctx.readArtifact(ctx.inputs.partition));
    const ph = partition.header;
    if (ph.trainCount !== ds.header.trainCount) {
      throw new DataError(
        `the partition was made for a training set of ${ph.trainCount} images, ` +
          `but the dataset has ${ds.header.trainCount}`,
        {
          path: `stages.${ctx.stageId}.needs`,
          hint: 'wire the partition stage to the same dataset stage as this one',
        },
      );
    }
    const modelName = p.model === 'auto' ? (DEFAULT_MODEL[ds.header.name] ?? 'lenet') : p.model;
    const model = buildModel(modelName, ds.header.classes, [ds.header.height, ds.header.width, ds.header.channels]);
    const choice = chooseBackend(ctx.runtime.backend);
    const maxBatch = WASM_MAX_BATCH[model.name as ModelName];
    if (choice.name === 'wasm' && maxBatch !== undefined && p.batchSize > maxBatch) {
      throw new DataError(
        `${model.name} at batch ${p.batchSize} does not fit in the wasm backend's 4 GB heap (at most ${maxBatch})`,
        {
          path: `stages.${ctx.stageId}.with.batchSize`,
          expected: `batchSize ≤ ${maxBatch} on wasm`,
          got: String(p.batchSize),
          hint:
            'run it on a native backend (--backend tensorflow, README "Native TensorFlow backend"), ' +
            `or on the CPU with --set ${ctx.stageId}.batchSize=${maxBatch}`,
        },
      );
    }
    const tf = await initBackend(choice);
    const reanchor =
      p.reanchor === 'always' ||
      (p.reanchor === 'auto' && (ph.mode === 'client' || (ph.mode === 'samples' && ds.header.name === 'cifar100')));
    const settings: FederationSettings = {
      rounds: p.rounds,
      localEpochs: p.localEpochs,
      batchSize: p.batchSize,
      lr: p.lr,
      lrDecay: p.lrDecay ?? referenceLrDecay(p.rounds),
      momentum: p.momentum,
      weightDecay: p.weightDecay,
      augment: p.augment,
      gamma: reanchor ? p.gamma : undefined,
      aggregation: p.aggregation === 'auto' ? (ph.scheme === 'dirichlet' ? 'size' : 'equal') : p.aggregation,
      evalEvery: p.evalEvery,
      evalUnlearn: { mode: ph.mode, ...p.evalUnlearn },
      seed: ctx.seed,
    };
    const sets = makeEvalSets(ds, ph);
    const names = metricNames(sets.forgetMetric);
    const runner = await createRunner({
      tf,
      backend: choice,
      workers: ctx.runtime.workers,
      model,
      images: (into) => stampedTrainImages(ds, partition, into),
      shape: ds.header,
      headA: partition.headA,
      headB: partition.headB,
      optimizer: { momentum: p.momentum, weightDecay: p.weightDecay },
    });
    ctx.log(
      'info',
      `model ${model.name}, backend ${backendLabel(choice)}, ` +
        `${runner.workers} worker${runner.workers === 1 ? '' : 's'}, ` +
        `${ph.clients} clients (unlearning: ${ph.unlearningClients.join(', ') || 'none'})`,
    );
    const resumed = await loadCheckpoint(ctx.checkpointDir);
    const usable = resumed && resumed.weights.length === model.specs.length && resumed.round <= p.rounds;
    if (usable) ctx.log('info', `resuming from the checkpoint after round ${resumed.round}`);
    const state0 = usable ? resumed : initialState(model, partition, ctx.seed);
    let metrics: Record<string, number> = lastMetrics(state0.history, names);
    const clientsPerRound = Array.from(
      { length: ph.clients },
      (_, k) => partition.offsets[k + 1] - partition.offsets[k],
    ).filter((n) => n > 0).length;
    try {
      const final = await runFederation({
        model,
        settings,
        partition,
        runner: runner.runner,
        state: state0,
        evaluate: async (weights, unlearned) => roundMetrics(tf, model, sets, weights, unlearned),
        hooks: {
          signal: ctx.signal,
          onClient: (round, done, total) =>
            ctx.progress({
              step: round * clientsPerRound + done,
              total: p.rounds * clientsPerRound,
              label: `round ${round + 1}/${p.rounds} · client ${done}/${total}`,
              metrics,
            }),
          onRound: async (state, record) => {
            await saveCheckpoint(ctx.checkpointDir, state);
            metrics = lastMetrics(state.history, names);
            ctx.progress({
              step: record.round * clientsPerRound,
              total: p.rounds * clientsPerRound,
              label: `round ${record.round}/${p.rounds} done`,
              metrics,
            });
          },
        },
      });
      const header = {
        ...modelHeader(model, ds.header.name),
        rounds: final.round,
        clients: ph.clients,
        mode: ph.mode,
        unlearningClients: ph.unlearningClients,
        backend: backendLabel(choice),
      };
      const federation = await ctx.writeArtifact(
        'federation',
        packFederation({ header, weights: final.weights, heads: final.heads }),
        { model: model.name, rounds: final.round },
      );
      const history = {
        model: model.name,
        dataset: ds.header.name,
        mode: ph.mode,
        forgetMetric: sets.forgetMetric,
        rounds: final.history,
      };
      const historyRef = await ctx.writeArtifact('history', packHistory(history), {
        seconds: round3(final.seconds),
      });
      return { federation, history: historyRef };
    } finally {
      await runner.runner.close();
    }
  },
});

const round3 = (x: number) => Math.round(x * 1000) / 1000;

function lastMetrics(history: RoundRecord[], names: ReturnType<typeof metricNames>): Record<string, number> {
  const last = [...history].reverse().find((r) => r.testAccuracy !== undefined);
  const out: Record<string, number> = {};
  if (!last) return out;
  out[names.acc] = last.testAccuracy!;
  if (last.forget !== undefined) out[names.forget] = last.forget;
  if (last.unlearnedTestAccuracy !== undefined) out[names.unlearnedAcc] = last.unlearnedTestAccuracy;
  if (last.unlearnedForget !== undefined) out[names.unlearnedForget] = last.unlearnedForget;
  out.loss = history[history.length - 1].loss;
  return out;
}
