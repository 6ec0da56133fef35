// A trainer thread: its own tfjs backend (single-threaded wasm), the shared training set, one client at a time.
import { parentPort } from 'node:worker_threads';
import { serializeError } from '../../core/errors.ts';
import { initBackend } from '../backends/backend.ts';
import { predictLogits } from '../eval/predict.ts';
import { buildModel } from '../models/index.ts';
import type { ModelDef } from '../models/model.ts';
import { headSpecs } from '../models/model.ts';
import { unflattenWeights } from '../models/params.ts';
import type { TrainData } from '../train/client-train.ts';
import { trainClient } from '../train/client-train.ts';
import { decodeJob, encodeResult, transferables } from '../train/job.ts';
import { trainData } from '../train/train-data.ts';
import type { TrainerReply, TrainerRequest } from './trainer-protocol.ts';

const port = parentPort!;
let state:
  | {
      tf: Awaited<ReturnType<typeof initBackend>>;
      model: ModelDef;
      data: TrainData;
    }
  | undefined;
const send = (reply: TrainerReply, transfer: ArrayBuffer[] = []) => port.postMessage(reply, transfer);

port.on('message', async (msg: TrainerRequest) => {
  try {
    if (msg.type === 'init') {
      const tf = await initBackend(msg.backend);
      const model = buildModel(msg.model.name, msg.model.classes, msg.model.inputShape);
      state = {
        tf,
        model,
        data: trainData(msg.images, msg.shape, msg.headA, msg.headB, msg.forget),
      };
      send({ type: 'ready', backend: tf.getBackend() });
      return;
    }
    if (!state) throw new Error('trainer thread used before init');
    const { tf, model, data } = state;
    if (msg.type === 'predict') {
      const set = { name: 'batch', x: msg.x, expected: new Int32Array(0), count: msg.count };
      const weights = unflattenWeights(msg.weights, model.specs);
      const logits = await predictLogits(tf, model, weights, msg.heads, set, msg.count);
      send(
        { type: 'logits', id: msg.id, logits },
        logits.map((l) => l.buffer as ArrayBuffer),
      );
      return;
    }
    let lastProgress = 0;
    const job = decodeJob(msg.job, { model: model.specs, head: headSpecs(model) }, msg.indices);
    const result = encodeResult(
      await trainClient(tf, model, data, job, (step, total) => {
        const now = Date.now();
        if (now - lastProgress > 500 || step === total) {
          lastProgress = now;
          send({ type: 'progress', id: msg.id, step, total });
        }
      }),
    );
    send({ type: 'done', id: msg.id, result }, transferables(result));
  } catch (error) {
    send({ type: 'error', id: msg.type === 'init' ? undefined : msg.id, error: serializeError(error) });
  }
});
