import type * as tfType from '@tensorflow/tfjs';
import { trainClient, type OptimizerSettings, type TrainData } from './client-train.ts';
import type { ClientRunner } from './federated-training.ts';
import type { ModelDef } from './models/model.ts';

/** Trains the clients one after another in this thread (`workers: 1` without threads; tests). */
export function inThreadRunner(tf: typeof tfType, model: ModelDef, data: TrainData, opt: OptimizerSettings): ClientRunner {
  return {
    async run(jobs, onDone, signal) {
      const results = [];
      for (const job of jobs) {
        if (signal?.aborted) break;
        const result = trainClient(tf, model, data, job, opt);
        results.push(result);
        onDone(result);
        // Let progress events, the UI and Ctrl-C through between clients.
        await new Promise((resolve) => setImmediate(resolve));
      }
      return results;
    },
    async close() {},
  };
}
