import type * as tfType from '@tensorflow/tfjs';
import { Rng } from '../../core/rng.ts';
import { checkDevice } from '../backends/backend.ts';
import type { ModelDef } from '../models/model.ts';
import { epochBatches } from './epoch-batches.ts';
import type { ClientJob, ClientResult } from './job.ts';
import { crossEntropy, twoHeadLoss } from './losses.ts';
import type { BatchMaker } from './preprocess.ts';
import { createSgd, type Sgd } from './sgd.ts';

/** The training set as one client sees it: images (triggers stamped) and the labels of each head. */
export interface TrainData {
  batches: BatchMaker;
  headA: Uint8Array;
  headB: Uint8Array;
  /** 1 for the samples of the forget set: a retraining client skips them. */
  forget?: Uint8Array;
}

export type { ClientJob, ClientResult } from './job.ts';

/**
 * One client's local update (design §4.2, design §4.3): a fresh SGD optimiser (momentum, weight decay on every
 * parameter, PyTorch's update rule), shuffled batches per epoch, the plain cross-entropy for a normal client and
 * FedAU's two-headed loss for an unlearning client, whose feature extractor learns from both heads. An ascent climbs
 * the loss instead and is projected back into its ball after every step; the change made by the steps on forget-set
 * samples is summed when asked for.
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
  const vars = variablesOf(tf, model, job);
  const trainVars = vars.filter((v) => v.trainable);
  const shared = model.specs.length;
  const sgd = createSgd(tf, trainVars, recipe);
  const forget = data.forget ?? new Uint8Array(data.headA.length);
  if (job.samples !== 'all' && !data.forget)
    throw new Error(`a client training on "${job.samples}" needs the forget set`);
  const keep = (i: number) => (job.samples === 'all' ? true : job.samples === 'retain' ? !forget[i] : forget[i] === 1);
  const skip = job.samples === 'all' ? undefined : Uint8Array.from(forget, (_, i) => (keep(i) ? 0 : 1));
  const kept = job.indices.filter(keep).length;
  const total = Math.ceil(kept / recipe.batchSize) * recipe.localEpochs;
  const augRng = new Rng(recipe.seed, `augment/r${job.round}/c${job.client}`);
  const trainableShared = model.specs.filter((spec) => !spec.buffer).length;
  const forgetSteps = job.recordForgetSteps
    ? trainVars.slice(0, trainableShared).map((v) => new Float32Array(v.size))
    : undefined;
  const batch = batchWriter(data, model, recipe.batchSize);
  let step = 0;
  const lossTensors: tfType.Scalar[] = [];
  for (let epoch = 0; epoch < recipe.localEpochs; epoch++) {
    const order = new Rng(recipe.seed, `shuffle/r${job.round}/c${job.client}/e${epoch}`).shuffle(
      Int32Array.from(job.indices),
    );
    const draw = recipe.augment ? () => data.batches.draw(augRng) : undefined;
    for (const b of epochBatches(order, recipe.batchSize, draw, skip)) {
      const touchesForget = !!forgetSteps && b.indices.some((i) => forget[i] === 1);
      lossTensors.push(
        trainStep(tf, { model, vars, trainVars, sgd, job }, batch(tf, b), touchesForget ? forgetSteps : undefined),
      );
      if (job.ascent && job.anchor) projectToBall(tf, vars.slice(0, shared), job.anchor, job.ascent.radius);
      step++;
      onStep?.(step, total);
    }
  }
  // Losses are read once at the end: reading each step would stall on every batch. Reads are asynchronous, which
  // a GPU backend needs under Node; the sum runs in step order, as it always did.
  const losses = await Promise.all(lossTensors.map((l) => l.data()));
  tf.dispose(lossTensors);
  let lossSum = 0;
  for (const l of losses) lossSum += l[0];
  const out = (await Promise.all(vars.map((v) => v.data()))).map((a) => new Float32Array(a as Float32Array));
  checkDevice();
  sgd.dispose();
  tf.dispose(vars);
  return {
    client: job.client,
    weights: out.slice(0, shared),
    head: job.head ? out.slice(shared) : undefined,
    ...(forgetSteps ? { forgetSteps: padBuffers(model, forgetSteps) } : {}),
    loss: step ? lossSum / step : 0,
    steps: step,
    samples: kept * recipe.localEpochs,
    ms: performance.now() - t0,
  };
}

/** The job's weights (and head) as variables: buffers (BatchNorm statistics) are not trainable. */
function variablesOf(tf: typeof tfType, model: ModelDef, job: ClientJob): tfType.Variable[] {
  const values = job.head ? [...job.weights, ...job.head] : job.weights;
  const specs = job.head
    ? [...model.specs, model.specs[model.classifier.weight], model.specs[model.classifier.bias]]
    : model.specs;
  return values.map((v, i) => {
    const initial = tf.tensor(v, specs[i].shape);
    const variable = tf.variable(initial, i < model.specs.length ? !model.specs[i].buffer : true);
    initial.dispose(); // the variable holds its own reference to the data
    return variable;
  });
}

interface BatchTensors {
  x: tfType.Tensor4D;
  la: tfType.Tensor1D;
  lb: tfType.Tensor1D;
}

/** Writes a batch's images (augmented) and both heads' labels into tensors, reusing one staging buffer. */
function batchWriter(data: TrainData, model: ModelDef, batchSize: number) {
  const size = data.batches.imageSize;
  const [H, W, C] = model.inputShape;
  const buffer = new Float32Array(batchSize * size);
  const yA = new Int32Array(batchSize);
  const yB = new Int32Array(batchSize);
  return (tf: typeof tfType, b: { indices: number[]; augmentations: unknown[] }): BatchTensors => {
    const n = b.indices.length;
    for (let i = 0; i < n; i++) {
      data.batches.write(buffer, i * size, b.indices[i], b.augmentations[i] as never);
      yA[i] = data.headA[b.indices[i]];
      yB[i] = data.headB[b.indices[i]];
    }
    return {
      x: tf.tensor4d(buffer.subarray(0, n * size), [n, H, W, C]),
      la: tf.tensor1d(yA.subarray(0, n), 'int32'),
      lb: tf.tensor1d(yB.subarray(0, n), 'int32'),
    };
  };
}

/** One SGD step on a batch (descent, or ascent on the negated loss); returns the batch's loss, kept for later. */
function trainStep(
  tf: typeof tfType,
  s: { model: ModelDef; vars: tfType.Variable[]; trainVars: tfType.Variable[]; sgd: Sgd; job: ClientJob },
  t: BatchTensors,
  accumulate?: Float32Array[],
): tfType.Scalar {
  const { model, vars, job } = s;
  const buffers = new Map<number, tfType.Tensor>();
  const { value, grads } = tf.variableGrads(() => {
    const { z, updatedBuffers } = model.features(tf, vars, t.x, true);
    // New BatchNorm running statistics outlive the gradient scope; they are assigned after the step.
    for (const [i, b] of updatedBuffers ?? []) buffers.set(i, tf.keep(b));
    const a = tf.add(
      tf.matMul(z, vars[model.classifier.weight] as tfType.Tensor2D),
      vars[model.classifier.bias],
    ) as tfType.Tensor2D;
    let loss: tfType.Scalar;
    if (!job.head) loss = crossEntropy(tf, a, t.la);
    else {
      const head = vars.length - 2;
      const b = tf.add(tf.matMul(z, vars[head] as tfType.Tensor2D), vars[head + 1]) as tfType.Tensor2D;
      loss = twoHeadLoss(tf, a, b, t.la, t.lb);
    }
    return job.ascent ? tf.neg(loss) : loss;
  }, s.trainVars);
  s.sgd.step(grads, job.lr, accumulate);
  for (const [i, b] of buffers) {
    vars[i].assign(b);
    b.dispose();
  }
  tf.dispose([t.x, t.la, t.lb, ...Object.values(grads)]);
  // The loss as the client sees it: an ascent reports the loss it climbs, not its negation.
  if (!job.ascent) return value;
  const loss = tf.neg(value) as tfType.Scalar;
  value.dispose();
  return loss;
}

/** Keeps the shared parameters within `radius` (L2, over all of them) of `anchor`: the projection of an ascent. */
function projectToBall(tf: typeof tfType, vars: tfType.Variable[], anchor: Float32Array[], radius: number): void {
  const values = vars.map((v) => v.dataSync() as Float32Array);
  let sq = 0;
  for (const [i, w] of values.entries()) for (let j = 0; j < w.length; j++) sq += (w[j] - anchor[i][j]) ** 2;
  const distance = Math.sqrt(sq);
  if (distance <= radius) return;
  const scale = radius / distance;
  vars.forEach((v, i) => {
    const w = values[i];
    const projected = new Float32Array(w.length);
    for (let j = 0; j < w.length; j++) projected[j] = anchor[i][j] + scale * (w[j] - anchor[i][j]);
    const t = tf.tensor(projected, v.shape);
    v.assign(t);
    t.dispose();
  });
}

/** The trainable parameters' sums in spec order, with zeros for the buffers (which no step changes). */
function padBuffers(model: ModelDef, trainable: Float32Array[]): Float32Array[] {
  let next = 0;
  return model.specs.map((spec) =>
    spec.buffer ? new Float32Array(spec.shape.reduce((a, b) => a * b, 1)) : trainable[next++],
  );
}
