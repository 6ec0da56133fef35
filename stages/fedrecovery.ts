import { Rng } from '../src/core/rng.ts';
import { defineStage } from '../src/engine/stage.ts';
import { fedRecoveryUnlearn } from '../src/fl/methods/fedrecovery.ts';
import { checkMode, methodModel } from '../src/fl/methods/method-training.ts';
import type { FedrecoveryParams } from '../src/generated/stage-params.ts';
import { recordingHint, recordingSeconds } from './shared-hints.ts';

/** FedRecovery (design §7.5): the forgotten clients' weighted residuals subtracted, then Gaussian noise. */
export default defineStage<FedrecoveryParams>()({
  kind: 'fedrecovery',
  version: 1,
  summary: "FedRecovery: subtract the forgotten clients' weighted residuals from the final model, add Gaussian noise.",
  inputs: { federation: 'federation', recording: 'recording' },
  remote: true,
  outputs: { model: 'model' },
  async run(ctx, { federation: fed, recording }) {
    const t0 = performance.now();
    checkMode('fedrecovery', fed, ['client'], ctx.stageId);
    if (recording.header.every !== 1) throw recordingHint(ctx.stageId, 'every: 1', "every round's local models");
    const clients = fed.header.unlearningClients;
    const specs = fed.header.specs;
    const { weights, storedBytes } = fedRecoveryUnlearn(recording, clients, {
      sigma: ctx.params.sigma,
      rng: new Rng(ctx.seed, 'fedrecovery/noise'),
      sizes: fed.weights.map((w) => w.length),
      trainable: specs.map((s) => !s.buffer),
    });
    const method = {
      id: 'fedrecovery' as const,
      clients,
      rounds: 0,
      storageBytes: storedBytes,
      params: { ...ctx.params },
    };
    ctx.progress({ step: 1, total: 1, label: `removed clients ${clients.join(', ')}` });
    return {
      model: {
        value: methodModel(fed, weights, method),
        meta: { seconds: (performance.now() - t0) / 1000, learnSeconds: recordingSeconds(ctx.inputs.recording) },
      },
    };
  },
});
