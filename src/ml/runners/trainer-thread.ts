// A training worker: its own tfjs backend (single-threaded wasm), the shared training set, one client at a time.
import { parentPort } from 'node:worker_threads';
import { serializeError } from '../../core/errors.ts';
import { initBackend } from '../backends/backend.ts';
import { buildModel } from '../models/index.ts';
import type { ModelDef } from '../models/model.ts';
import { headSpecs } from '../models/model.ts';
import { flattenWeights, unflattenWeights } from '../models/params.ts';
import type { TrainData } from '../train/client-train.ts';
import { trainClient } from '../train/client-train.ts';
import { trainData } from '../train/train-data.ts';
import type { WorkerReply, WorkerRequest } from './trainer-protocol.ts';

const port = parentPort!;
let state:
  | {
      tf: Awaited<ReturnType<typeof initBackend>>;
      model: ModelDef;
      data: TrainData;
    }
  | undefined;
const send = (reply: WorkerReply, transfer: ArrayBuffer[] = []) => port.postMessage(reply, transfer);

port.on('message', async (msg: WorkerRequest) => {
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
    if (!state) throw new Error('worker used before init');
    const { tf, model, data } = state;
    let lastProgress = 0;
    const result = await trainClient(
      tf,
      model,
      data,
      {
        ...msg,
        weights: unflattenWeights(msg.weights, model.specs),
        head: msg.head ? unflattenWeights(msg.head, headSpecs(model)) : undefined,
      },
      (step, total) => {
        const now = Date.now();
        if (now - lastProgress > 500 || step === total) {
          lastProgress = now;
          send({ type: 'progress', id: msg.id, step, total });
        }
      },
    );
    const weights = flattenWeights(result.weights);
    const head = result.head ? flattenWeights(result.head) : undefined;
    send(
      {
        type: 'done',
        id: msg.id,
        client: result.client,
        weights,
        head,
        loss: result.loss,
        steps: result.steps,
        samples: result.samples,
        ms: result.ms,
      },
      [weights.buffer as ArrayBuffer, ...(head ? [head.buffer as ArrayBuffer] : [])],
    );
  } catch (error) {
    send({ type: 'error', id: msg.type === 'train' ? msg.id : undefined, error: serializeError(error) });
  }
});
