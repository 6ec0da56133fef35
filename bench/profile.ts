// `npm run profile`: where one LeNet training step at batch 128 spends its time on the wasm backend, as fedau
// trains a client (real MNIST, augmentation, SGD with momentum and weight decay). `-- --model=alexnet|resnet18`:
// the same for a CIFAR model on generated data, at batch 32, each convolution named by its channels.
//   kernels      every tfjs kernel call timed (wasm kernels run synchronously: wall time is their time)
//   augmentation the batch's images cropped, rotated and normalised into the input buffer (JavaScript)
//   the rest     op dispatch, gradient tape, tensor bookkeeping, memory management, and the SGD update (a
//                JavaScript loop over the wasm heap, not a kernel)
//   messaging    a client's job through a worker thread against the same job in this thread
// `--json` prints one JSON object.
import type * as tfType from '@tensorflow/tfjs';
import { Rng } from '../src/core/rng.ts';
import { initBackend } from '../src/ml/backends/backend.ts';
import type { ModelName } from '../src/ml/models/index.ts';
import { trainClient } from '../src/ml/train/client-train.ts';
import { mnistSamplesRound } from './mnist-samples-round.ts';
import { MODEL_DATA, syntheticModelJob } from './model-job.ts';

const json = process.argv.includes('--json');
const log = (line: string) => (json ? process.stderr : process.stdout).write(`${line}\n`);

/** Wraps every wasm kernel so each call's time is added to its part of the step. */
function timeKernels(tf: typeof tfType, partOf: typeof lenetPart): Map<string, number> {
  const spent = new Map<string, number>();
  // Some of fedau's kernels run others (the input gradient runs a convolution): time only the outermost call.
  let depth = 0;
  for (const config of tf.getKernelsForBackend('wasm')) {
    const original = config.kernelFunc;
    tf.unregisterKernel(config.kernelName, 'wasm');
    tf.registerKernel({
      ...config,
      kernelFunc: (args) => {
        const t0 = performance.now();
        depth++;
        try {
          return original(args);
        } finally {
          depth--;
          if (depth === 0) {
            const part = partOf(config.kernelName, args.inputs as Record<string, tfType.TensorInfo>);
            spent.set(part, (spent.get(part) ?? 0) + performance.now() - t0);
          }
        }
      },
    });
  }
  return spent;
}

/** A CIFAR model's convolution kernels named by their channels (Cin→Cout); the rest as for LeNet. */
function wideLayerPart(kernel: string, inputs: Record<string, tfType.TensorInfo>): string {
  const channels = (x: tfType.TensorInfo | undefined, out: number | undefined) => `conv ${x?.shape[3]}→${out}`;
  switch (kernel) {
    case 'Conv2D':
      return `${channels(inputs.x, inputs.filter?.shape[3])} forward`;
    case 'Conv2DBackpropFilter':
      return `${channels(inputs.x, inputs.dy?.shape[3])} filter gradient`;
    case 'Conv2DBackpropInput':
      return `conv ${inputs.filter?.shape[2]}→${inputs.filter?.shape[3]} input gradient`;
    default:
      return lenetPart(kernel, inputs);
  }
}

/** Names a kernel call after the layer it serves (LeNet's shapes tell the layers apart). */
function lenetPart(kernel: string, inputs: Record<string, tfType.TensorInfo>): string {
  const layer = (channels: number | undefined) => (channels === 1 ? 'conv1' : channels === 6 ? 'conv2' : 'conv');
  switch (kernel) {
    case 'Conv2D':
      return `${layer(inputs.x?.shape[3])} forward`;
    case 'Conv2DBackpropFilter':
      return `${layer(inputs.x?.shape[3])} filter gradient`;
    case 'Conv2DBackpropInput':
      return 'conv2 input gradient';
    case 'FedauPoolBiasRelu':
    case 'MaxPool':
      return 'pool + bias + ReLU forward';
    case 'FedauPoolBiasReluGrad':
    case 'MaxPoolGrad':
      return 'pool + bias + ReLU gradient';
    case 'BatchMatMul':
    case '_FusedMatMul':
      return 'dense layers (matrix products)';
    case 'FedauSoftmaxXent':
    case 'FedauSoftmaxXentGrad':
      return 'loss (softmax cross-entropy)';
    case 'FedauSgd':
      return 'optimiser (SGD kernel)';
    default:
      return `other kernels (${kernel})`;
  }
}

const MODEL = (process.argv.find((a) => a.startsWith('--model='))?.split('=')[1] ?? 'lenet') as ModelName;
if (!(MODEL in MODEL_DATA)) throw new Error(`--model: one of ${Object.keys(MODEL_DATA).join(', ')}`);

/** LeNet: the MNIST samples round's client. A CIFAR model: 96 generated samples, 3 steps of 32. */
async function setup() {
  if (MODEL === 'lenet') {
    const { model, data, job, runner } = await mnistSamplesRound();
    return { model, data, job, makeRunner: runner };
  }
  const { model, data, job } = syntheticModelJob(MODEL, 32);
  return { model, data, job: (_round: number) => job(96), makeRunner: undefined };
}

const tf = await initBackend({ name: 'wasm' });
const { model, data, job, makeRunner } = await setup();
const BATCH = job(0).recipe.batchSize;

await trainClient(tf, model, data, job(0)); // warm-up: XNNPACK operators, wasm memory growth
const spent = timeKernels(tf, MODEL === 'lenet' ? lenetPart : wideLayerPart);
const res = await trainClient(tf, model, data, job(1));
const stepMs = res.ms / res.steps;
const kernelMs = new Map(spent); // this client's steps only: the later runs below add to `spent`

// Augmentation alone, for the same number of samples, in the same order of calls.
const size = data.batches.imageSize;
const buffer = new Float32Array(BATCH * size);
const rng = new Rng(0, 'profile');
const indices = job(1).indices;
const t0 = performance.now();
for (let i = 0; i < indices.length; i++) {
  data.batches.write(buffer, (i % BATCH) * size, indices[i], data.batches.draw(rng));
}
const augmentMs = (performance.now() - t0) / res.steps;

const messagingMs = makeRunner ? await messaging(makeRunner) : undefined;

/** The same client's job through one worker thread against this thread: what the messages and the thread add. */
async function messaging(makeRunner: NonNullable<Awaited<ReturnType<typeof setup>>['makeRunner']>) {
  const { runner } = await makeRunner({ name: 'wasm' }, 1);
  const viaWorker: number[] = [];
  try {
    for (let r = 0; r < 3; r++) {
      const t = performance.now();
      await runner.run([job(r + 2)], () => {});
      viaWorker.push(performance.now() - t);
    }
  } finally {
    await runner.close();
  }
  const inThread = (await trainClient(tf, model, data, job(5))).ms;
  return Math.max(0, Math.min(...viaWorker.slice(1)) - inThread) / res.steps;
}

const kernelsMs = [...kernelMs.values()].reduce((a, b) => a + b, 0) / res.steps;
const parts: [string, number][] = [
  ...[...kernelMs.entries()].map(([k, v]): [string, number] => [k, v / res.steps]),
  ['augmentation (JavaScript)', augmentMs] as [string, number],
  ['the rest: tfjs dispatch, tape, memory; SGD update', Math.max(0, stepMs - kernelsMs - augmentMs)] as [
    string,
    number,
  ],
].sort((a, b) => b[1] - a[1]);
log(`one ${model.name} training step, batch ${BATCH}, wasm, one thread: ${stepMs.toFixed(2)} ms (${res.steps} steps)`);
for (const [name, ms] of parts) {
  log(`  ${name.padEnd(46)} ${ms.toFixed(2).padStart(7)} ms  ${((100 * ms) / stepMs).toFixed(1).padStart(5)} %`);
}
if (messagingMs !== undefined) {
  log(`  ${'worker messaging, per step (outside the step)'.padEnd(46)} ${messagingMs.toFixed(2).padStart(7)} ms`);
}
if (json) {
  process.stdout.write(
    `${JSON.stringify({
      stepMs,
      parts: Object.fromEntries(parts.map(([k, v]) => [k, Math.round(v * 1000) / 1000])),
      messagingMsPerStep: messagingMs,
    })}\n`,
  );
}
process.exit(0);
