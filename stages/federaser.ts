import { defineStage } from '../src/engine/stage.ts';
import { federaserStrategy } from '../src/fl/methods/federaser.ts';
import { checkMode, methodModel, trainMethod } from '../src/fl/methods/method-training.ts';
import { split } from '../src/fl/methods/vectors.ts';
import { checkTrainingInputs } from '../src/fl/recipe.ts';
import type { FederaserParams } from '../src/generated/stage-params.ts';
import { tfjsKeyFacts } from '../src/ml/backends/key-facts.ts';
import { recordingHint, recordingSeconds } from './shared-hints.ts';

/** FedEraser (design §7.2): calibrated retraining from the initial model, one round per stored round. */
export default defineStage<FederaserParams>()({
  kind: 'federaser',
  version: 1,
  summary:
    "FedEraser: calibrate from the initial model on the retained data, each update given the stored one's length.",
  inputs: { dataset: 'dataset', partition: 'partition', federation: 'federation', recording: 'recording' },
  outputs: { model: 'model' },
  seeded: () => false,
  runtimeKey: tfjsKeyFacts,
  async run(ctx, { dataset: ds, partition, federation: fed, recording }) {
    checkTrainingInputs(ds, partition, ctx.stageId);
    checkMode('federaser', fed, ['samples', 'client'], ctx.stageId);
    const { recipe } = fed.header;
    const { interval, epochRatio } = ctx.params;
    const stored = recording.header.localRounds.filter((t) => t % interval === 0);
    if (!stored.length || interval % recording.header.every !== 0) {
      throw recordingHint(ctx.stageId, `every: ${interval}`, `the local models of every ${interval}th round`);
    }
    const filtered = { ...recording, header: { ...recording.header, localRounds: stored } };
    const sizes = fed.weights.map((w) => w.length);
    const { strategy, rounds } = federaserStrategy({
      partition,
      recipe,
      recording: filtered,
      localEpochs: Math.max(1, Math.round(recipe.localEpochs * epochRatio)),
      sizes,
      isBuffer: fed.header.specs.map((s) => !!s.buffer),
    });
    // G'_0 is the training's initial model, which the recording keeps as G_0.
    const start = split(recording.global(0), sizes);
    const { final, backend } = await trainMethod(ctx, {
      ds,
      partition,
      fed,
      start,
      strategy,
      rounds,
      label: `FedEraser: ${rounds} calibration rounds (stored every ${interval}) on the retained data`,
    });
    const bytes = stored.reduce(
      (n, t) => n + recording.header.participants[t].length * recording.header.size * 4 + recording.header.size * 4,
      0,
    );
    const method = {
      id: 'federaser' as const,
      clients: fed.header.unlearningClients,
      rounds,
      storageBytes: bytes,
      params: { ...ctx.params },
    };
    return {
      model: {
        value: methodModel(fed, final.weights, method),
        meta: { seconds: final.seconds, backend, learnSeconds: recordingSeconds(ctx.inputs.recording) },
      },
    };
  },
});
