import { defineStage } from '../src/engine/stage.ts';
import { checkMode, methodModel, trainMethod } from '../src/fl/methods/method-training.ts';
import { pgaRadius, pgaReference, pgaStrategy } from '../src/fl/methods/pga.ts';
import { split } from '../src/fl/methods/vectors.ts';
import { checkTrainingInputs } from '../src/fl/recipe.ts';
import type { PgaParams } from '../src/generated/stage-params.ts';
import { tfjsKeyFacts } from '../src/ml/backends/key-facts.ts';
import { buildModel, type ModelName } from '../src/ml/models/index.ts';
import { initWeights } from '../src/ml/models/params.ts';
import { recordingHint, recordingSeconds } from './shared-hints.ts';

/** PGA (design §7.6): bounded gradient ascent by the forgotten client, then FedAvg on the retained clients. */
export default defineStage<PgaParams>()({
  kind: 'pga',
  version: 1,
  summary: "PGA: the forgotten client's projected gradient ascent around the others' model, then FedAvg rounds.",
  inputs: { dataset: 'dataset', partition: 'partition', federation: 'federation', recording: 'recording' },
  outputs: { model: 'model' },
  runtimeKey: tfjsKeyFacts,
  async run(ctx, { dataset: ds, partition, federation: fed, recording }) {
    checkTrainingInputs(ds, partition, ctx.stageId);
    checkMode('pga', fed, ['client'], ctx.stageId);
    const { recipe } = fed.header;
    const h = recording.header;
    const last = h.rounds - 1;
    const sizes = fed.weights.map((w) => w.length);
    const clients = fed.header.unlearningClients;
    const lastLocals = clients.flatMap((k) => {
      const at = h.participants[last].indexOf(k);
      if (at < 0) return [];
      const local = recording.local(last, k);
      if (!local) throw recordingHint(ctx.stageId, 'every: 1', "the last round's local models");
      return [{ weight: h.weights[last][at], local: split(local, sizes) }];
    });
    const reference = pgaReference(fed.weights, lastLocals);
    const model = buildModel(recipe.model as ModelName, fed.header.classes, fed.header.inputShape);
    const radius = pgaRadius(reference, initWeights(model.specs, ctx.seed), ctx.params.radiusFraction);
    const { strategy, rounds } = pgaStrategy({
      partition,
      recipe,
      firstRound: fed.header.rounds,
      forgotten: clients,
      reference,
      radius,
      ascent: { epochs: ctx.params.epochs, lr: ctx.params.lr },
      rounds: ctx.params.rounds,
    });
    const { final, backend } = await trainMethod(ctx, {
      ds,
      partition,
      fed,
      start: reference,
      strategy,
      rounds,
      label: `PGA: ascent within ${radius.toPrecision(3)} of the reference, then ${ctx.params.rounds} FedAvg rounds`,
    });
    const method = {
      id: 'pga' as const,
      clients,
      rounds,
      storageBytes: lastLocals.reduce((n, l) => n + l.local.reduce((m, t) => m + t.byteLength, 0), 0),
      params: { ...ctx.params, radius },
    };
    return {
      model: {
        value: methodModel(fed, final.weights, method),
        meta: { seconds: final.seconds, backend, learnSeconds: recordingSeconds(ctx.inputs.recording) },
      },
    };
  },
});
