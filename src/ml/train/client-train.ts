import type * as tfType from '@tensorflow/tfjs';
import type { LocalRecipe } from '../../artifacts/federation.ts';
import type { Weights } from '../../artifacts/model.ts';
import { Rng } from '../../core/rng.ts';
import { checkDevice } from '../backends/backend.ts';
import type { ModelDef } from '../models/model.ts';
import { epochBatches } from './epoch-batches.ts';
import { crossEntropy, twoHeadLoss } from './losses.ts';
import type { BatchMaker } from './preprocess.ts';
import { createSgd } from './sgd.ts';

/** The training set as one client sees it: images (triggers stamped) and the labels of each head. */
export interface TrainData {
  batches: BatchMaker;
  headA: Uint8Array;
  headB: Uint8Array;
  /** 1 for the samples of the forget set: a retraining client skips them. */
  forget?: Uint8Array;
}

export interface ClientJob {
  round: number;
  client: number;
  /** The global model's shared parameters and buffers, in spec order. */
  weights: Weights;
  /** An unlearning client's own head [W2, b2]; absent for a normal client. */
  head?: Weights;
  indices: Int32Array;
  /** This round's learning rate. */
  lr: number;
  /**
   * The federation's recipe as a client needs it (epochs, batch, optimiser, augmentation, seed), passed whole with
   * every job so that no setting can be left behind by a thread or a machine that trained another job before.
   */
  recipe: LocalRecipe;
  /**
   * Retraining without the forget set: its samples are skipped after the shuffle, and their augmentation is still
   * drawn, so every remaining sample sees the order and augmentation it had in the FedAU training.
   */
  dropForget?: boolean;
}

export interface ClientResult {
  client: number;
  weights: Weights;
  head?: Weights;
  /** Mean training loss over the client's steps. */
  loss: number;
  steps: number;
  samples: number;
  ms: number;
  /** Which machine trained it, when a cluster did (`host-pid#slot`). */
  worker?: string;
}

/**
 * One client's local update (reference §4.2 and §4.3): a fresh SGD optimiser (momentum, weight decay on every
 * parameter, PyTorch's update rule), shuffled batches per epoch, the plain cross-entropy for a normal client and
 * FedAU's two-headed loss for an unlearning client, whose feature extractor learns from both heads.
 */
export async function trainClient(
  tf: typeof tfType,
  model: ModelDef,
  data: TrainData,
  job: ClientJob,
  onStep?: (step: number, total: number) => void,
): Promise<ClientResult> {
  const t0 = performance.now();
  const { recipe } = job;
  const trainable = model.specs.map((s) => !s.buffer);
  const values = job.head ? [...job.weights, ...job.head] : job.weights;
  const specs = job.head
    ? [...model.specs, model.specs[model.classifier.weight], model.specs[model.classifier.bias]]
    : model.specs;
  const vars = values.map((v, i) => {
    const initial = tf.tensor(v, specs[i].shape);
    const variable = tf.variable(initial, i < trainable.length ? trainable[i] : true);
    initial.dispose(); // the variable holds its own reference to the data
    return variable;
  });
  const trainVars = vars.filter((v) => v.trainable);
  const sgd = createSgd(tf, trainVars, recipe);
  const size = data.batches.imageSize;
  const [H, W, C] = model.inputShape;
  const buffer = new Float32Array(recipe.batchSize * size);
  const yA = new Int32Array(recipe.batchSize);
  const yB = new Int32Array(recipe.batchSize);
  const skip = job.dropForget ? data.forget : undefined;
  if (job.dropForget && !skip) throw new Error('a retraining client needs the forget set of its partition');
  const kept = skip ? job.indices.filter((i) => !skip[i]).length : job.indices.length;
  const stepsPerEpoch = Math.ceil(kept / recipe.batchSize);
  const total = stepsPerEpoch * recipe.localEpochs;
  const augRng = new Rng(recipe.seed, `augment/r${job.round}/c${job.client}`);
  let lossSum = 0;
  let step = 0;
  const lossTensors: tfType.Scalar[] = [];
  for (let epoch = 0; epoch < recipe.localEpochs; epoch++) {
    const order = new Rng(recipe.seed, `shuffle/r${job.round}/c${job.client}/e${epoch}`).shuffle(
      Int32Array.from(job.indices),
    );
    const draw = recipe.augment ? () => data.batches.draw(augRng) : undefined;
    for (const batch of epochBatches(order, recipe.batchSize, draw, skip)) {
      const idx = batch.indices;
      const n = idx.length;
      for (let i = 0; i < n; i++) {
        data.batches.write(buffer, i * size, idx[i], batch.augmentations[i]);
        yA[i] = data.headA[idx[i]];
        yB[i] = data.headB[idx[i]];
      }
      const x = tf.tensor4d(buffer.subarray(0, n * size), [n, H, W, C]);
      const la = tf.tensor1d(yA.subarray(0, n), 'int32');
      const lb = tf.tensor1d(yB.subarray(0, n), 'int32');
      const buffers = new Map<number, tfType.Tensor>();
      const { value, grads } = tf.variableGrads(() => {
        const { z, updatedBuffers } = model.features(tf, vars, x, true);
        // New BatchNorm running statistics outlive the gradient scope; they are assigned after the step.
        for (const [i, t] of updatedBuffers ?? []) buffers.set(i, tf.keep(t));
        const a = tf.add(
          tf.matMul(z, vars[model.classifier.weight] as tfType.Tensor2D),
          vars[model.classifier.bias],
        ) as tfType.Tensor2D;
        if (!job.head) return crossEntropy(tf, a, la);
        const head = vars.length - 2;
        const b = tf.add(tf.matMul(z, vars[head] as tfType.Tensor2D), vars[head + 1]) as tfType.Tensor2D;
        return twoHeadLoss(tf, a, b, la, lb);
      }, trainVars);
      sgd.step(grads, job.lr);
      for (const [i, t] of buffers) {
        vars[i].assign(t);
        t.dispose();
      }
      tf.dispose([x, la, lb, ...Object.values(grads)]);
      lossTensors.push(value);
      step++;
      onStep?.(step, total);
    }
  }
  // Losses are read once at the end: reading each step would stall on every batch. Reads are asynchronous, which
  // a GPU backend needs under Node; the sum runs in step order, as it always did.
  const losses = await Promise.all(lossTensors.map((l) => l.data()));
  tf.dispose(lossTensors);
  for (const l of losses) lossSum += l[0];
  const out = (await Promise.all(vars.map((v) => v.data()))).map((a) => new Float32Array(a as Float32Array));
  checkDevice();
  sgd.dispose();
  tf.dispose(vars);
  return {
    client: job.client,
    weights: out.slice(0, model.specs.length),
    head: job.head ? out.slice(model.specs.length) : undefined,
    loss: step ? lossSum / step : 0,
    steps: step,
    samples: kept * recipe.localEpochs,
    ms: performance.now() - t0,
  };
}
