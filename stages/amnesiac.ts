import { defineStage } from '../src/engine/stage.ts';
import { amnesiacUnlearn } from '../src/fl/methods/amnesiac.ts';
import { checkMode, methodModel } from '../src/fl/methods/method-training.ts';
import type { AmnesiacParams } from '../src/generated/stage-params.ts';
import { recordingHint, recordingSeconds } from './shared-hints.ts';

/** Amnesiac unlearning (design §7.3): arithmetic on the recorded forget-step changes, no training. */
export default defineStage<AmnesiacParams>()({
  kind: 'amnesiac',
  version: 1,
  summary: 'Amnesiac unlearning: subtract the recorded changes of the batches that held forgotten data.',
  inputs: { federation: 'federation', recording: 'recording' },
  // It reads only artifacts and params: `fedau run --redis` may run it on a worker.
  remote: true,
  outputs: { model: 'model' },
  seeded: () => false,
  async run(ctx, { federation: fed, recording }) {
    const t0 = performance.now();
    checkMode('amnesiac', fed, ['samples', 'class', 'client', 'random-label'], ctx.stageId);
    if (!recording.header.forgetSteps) throw recordingHint(ctx.stageId, 'forgetSteps: true', 'the forget-step changes');
    const clients = fed.header.unlearningClients;
    const { weights, storedBytes } = amnesiacUnlearn(fed.weights, recording, clients, ctx.params.scale);
    const method = {
      id: 'amnesiac' as const,
      clients,
      rounds: 0,
      storageBytes: storedBytes,
      params: { ...ctx.params },
    };
    ctx.progress({ step: 1, total: 1, label: `subtracted the forget steps of clients ${clients.join(', ')}` });
    return {
      model: {
        value: methodModel(fed, weights, method),
        meta: { seconds: (performance.now() - t0) / 1000, learnSeconds: recordingSeconds(ctx.inputs.recording) },
      },
    };
  },
});
