// WebGPU on Dawn, run here through Mesa's software rasteriser (OpenGL ES, compatibility mode): the kernels and a
// training step of each model against the cpu backend, repeatability, and the failures a user can meet.

import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type * as tfType from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { FedauError } from '../../src/core/errors.ts';
import { syntheticDataset } from '../../src/data/synthetic.ts';
import { planPipeline, runPipeline } from '../../src/index.ts';
import { chooseBackend, initBackend } from '../../src/ml/backends/backend.ts';
import { adapterLabel, findAdapter, SOFTWARE_ENV, watchDevice } from '../../src/ml/backends/webgpu.ts';
import { buildModel, type ModelName } from '../../src/ml/models/index.ts';
import { initWeights } from '../../src/ml/models/params.ts';
import { trainClient } from '../../src/ml/train/client-train.ts';
import { BatchMaker, preprocessFor } from '../../src/ml/train/preprocess.ts';
import { CONV_CASES, convGrads, expectClose, expectNoLeaks, runOn } from '../helpers/kernel-cases.ts';
import { tempDir } from '../helpers/run-inline.ts';

vi.hoisted(() => {
  process.env.FEDAU_WEBGPU_SOFTWARE = '1';
});

const found = await findAdapter(true).catch(() => undefined);
if (!found) {
  // CI installs Mesa's EGL/GLES (.ci/run), so this shows only on a machine without them.
  console.warn(
    'SKIPPED: the WebGPU tests: Dawn found no adapter (needs the webgpu package and Mesa: libegl1 libegl-mesa0 ' +
      'libgles2 libgl1-mesa-dri)',
  );
}

let tf: typeof tfType;

/** Two clients, two rounds of LeNet on generated MNIST-shaped data: seconds even on a software adapter. */
const TINY_FEDERATION = `
name: tiny
seed: 0
stages:
  data: { uses: dataset, with: { name: mnist, source: synthetic, synthetic: { train: 400, test: 200 } } }
  split:
    uses: partition
    needs: { dataset: data.dataset }
    with: { clients: 2, scheme: iid, mode: samples, unlearningClients: 1, proportion: 0.1 }
  train:
    uses: train-federation
    needs: { dataset: data.dataset, partition: split.partition }
    with: { model: lenet, rounds: 3, localEpochs: 1, batchSize: 32, lr: 0.05 }
  forget: { uses: unlearn, needs: { federation: train.federation } }
  eval:
    uses: evaluate
    needs: { dataset: data.dataset, partition: split.partition, federation: train.federation, model: forget.model }
  report: { uses: report, needs: { metrics: eval.metrics, history: train.history } }
`;

describe.skipIf(!found)('WebGPU (software adapter)', () => {
  beforeAll(async () => {
    tf = await initBackend(await chooseBackend('webgpu'));
    await initBackend({ name: 'cpu' });
    await initBackend({ name: 'wasm' });
  }, 120_000);

  describe("fedau's WebGPU kernels agree with the cpu backend and free what they allocate", () => {
    for (const c of CONV_CASES) {
      it(`Conv2D gradients: ${c.name}`, async () => {
        const grads = convGrads(tf, c);
        const gpu = await runOn(tf, 'webgpu', grads);
        expectClose(gpu, await runOn(tf, 'cpu', grads), 1e-4);
        expect(await runOn(tf, 'webgpu', grads)).toEqual(gpu); // same bytes again
        await expectNoLeaks(tf, 'webgpu', () => tf.tidy(() => void grads()));
      });
    }

    it('the filter gradient over more than one chunk of patches (a batch of 128)', async () => {
      // 128 × 32 × 32 patches of 3 × 3 × 16 values: 75 MB, more than one 64 MB chunk; one output channel keeps the
      // cpu side quick.
      const grads = convGrads(tf, {
        name: 'batch 128, two chunks',
        x: [128, 32, 32, 16],
        f: [3, 3, 16, 1],
        stride: 1,
        pad: 1,
      });
      // Each filter element sums 131 072 products: float32 rounding in another order reaches a few 1e-4.
      expectClose(await runOn(tf, 'webgpu', grads), await runOn(tf, 'cpu', grads), 2e-3);
    });

    it("matrix products with a long inner dimension tfjs would split (AlexNet's classifier)", async () => {
      const products = () => {
        const z = tf.randomNormal([64, 4096], 0, 1, 'float32', 8);
        const w = tf.randomNormal([4096, 10], 0, 0.05, 'float32', 9);
        const patches = tf.randomNormal([4096, 16], 0, 1, 'float32', 10);
        const dy = tf.randomNormal([4096, 12], 0, 1, 'float32', 11);
        return [tf.matMul(z, w), tf.matMul(patches, dy, true, false)];
      };
      const gpu = await runOn(tf, 'webgpu', products);
      expectClose(gpu, await runOn(tf, 'cpu', products), 1e-4);
      for (let i = 0; i < 3; i++) expect(await runOn(tf, 'webgpu', products)).toEqual(gpu);
    });
  });

  describe('a training step of each model agrees with cpu, and repeats bit for bit', () => {
    const step = async (backend: string, name: ModelName, batch: number) => {
      const shape: [number, number, number] = name === 'lenet' ? [28, 28, 1] : [32, 32, 3];
      const classes = name === 'resnet18' ? 100 : 10;
      const ds = syntheticDataset(
        { classes, train: batch, test: 1, height: shape[0], width: shape[1], channels: shape[2], noise: 20 },
        4,
      );
      const model = buildModel(name, classes, shape);
      const data = {
        batches: new BatchMaker(
          ds.trainImages,
          { ...ds.header },
          preprocessFor(name === 'lenet' ? 'mnist' : 'cifar10', shape[2]),
        ),
        headA: ds.trainLabels,
        headB: ds.trainLabels,
      };
      const t = await initBackend(await chooseBackend(backend));
      const before = t.memory().numTensors;
      const r = await trainClient(t, model, data, {
        round: 0,
        client: 0,
        weights: initWeights(model.specs, 1),
        head: initWeights(model.specs.slice(-2), 2),
        indices: Int32Array.from({ length: batch }, (_, i) => i),
        lr: 0.05,
        samples: 'all' as const,
        recipe: { localEpochs: 1, batchSize: batch, momentum: 0.9, weightDecay: 5e-4, seed: 1, augment: true },
      });
      expect(t.memory().numTensors).toBe(before);
      return { weights: [...r.weights, ...(r.head ?? [])].map((w) => Array.from(w)), loss: r.loss };
    };

    // Stated tolerance: 1e-4 relative to 1 + |w| on every weight after one SGD step (seen: ≤ 5e-5 per kernel).
    // LeNet is compared with the cpu backend itself. AlexNet and ResNet18 steps take minutes on tfjs's plain
    // JavaScript cpu backend, so they are compared with wasm, whose kernels are each tested against cpu, and the
    // WebGPU kernels above are tested against cpu on the layer shapes of all three models.
    it.each([
      ['lenet', 16, 'cpu'],
      ['alexnet', 2, 'wasm'],
      ['resnet18', 2, 'wasm'],
    ] as const)(
      '%s at batch %i against %s (two-headed FedAU step, augmentation, BatchNorm for ResNet18)',
      async (name, batch, reference) => {
        const gpu = await step('webgpu', name, batch);
        const again = await step('webgpu', name, batch);
        expect(again.weights).toEqual(gpu.weights);
        const ref = await step(reference, name, batch);
        expect(Math.abs(gpu.loss - ref.loss)).toBeLessThan(1e-4 * (1 + Math.abs(ref.loss)));
        expectClose(gpu.weights, ref.weights, 1e-4);
      },
      300_000,
    );
  });

  it('a tiny federation on webgpu reaches the accuracy band of wasm; plan and report name the adapter', async () => {
    const dir = await tempDir('fedau-webgpu-');
    await writeFile(join(dir, 'tiny.yaml'), TINY_FEDERATION);
    const run = async (backend: string) => {
      const workDir = join(dir, backend);
      const result = await runPipeline(join(dir, 'tiny.yaml'), { store: join(workDir, 'store'), workDir, backend });
      expect(result.status, JSON.stringify(result.stages.train?.error)).toBe('success');
      return JSON.parse(await readFile(join(workDir, 'reports/tiny/report.json'), 'utf8'));
    };
    const [gpu, cpu] = [await run('webgpu'), await run('wasm')];
    expect(gpu.original.testAccuracy).toBeGreaterThan(0.5); // 10 classes: chance is 0.1
    expect(Math.abs(gpu.original.testAccuracy - cpu.original.testAccuracy)).toBeLessThanOrEqual(0.05);
    expect(JSON.stringify(gpu)).toContain(`webgpu on ${adapterLabel(found!.facts)}`);
    const plan = await planPipeline(join(dir, 'tiny.yaml'), { store: join(dir, 'webgpu/store'), backend: 'webgpu' });
    const train = plan.find((p) => p.id === 'train')!;
    expect(train.decision).toBe('cached');
    expect(train.parts?.runtime).toMatchObject({ backend: 'webgpu', adapter: adapterLabel(found!.facts) });
  }, 600_000);

  describe('failures say what happened and what to do', () => {
    // tfjs holds the device of the adapter fedau found: these tests break devices of their own.
    const freshAdapter = async () =>
      (await found!.gpu.requestAdapter(
        found!.facts.mode === 'compatibility'
          ? { featureLevel: 'compatibility' }
          : { powerPreference: 'high-performance' },
      ))!;

    it('a lost device stops at the next check with the reason and a hint', async () => {
      const device = await (await freshAdapter()).requestDevice();
      const health = watchDevice(device, 'test adapter');
      expect(() => health.check()).not.toThrow();
      device.destroy();
      await device.lost;
      const error = (() => {
        try {
          health.check();
        } catch (e) {
          return e as FedauError;
        }
      })();
      expect(error).toBeInstanceOf(FedauError);
      expect(error!.code).toBe('FEDAU_GPU');
      expect(error!.message).toMatch(/GPU device was lost \(destroyed\)/);
      expect(error!.info.hint).toMatch(/--backend wasm/);
    });

    it('a buffer beyond the GPU limits is an out-of-memory error suggesting a smaller batch', async () => {
      const adapter = await freshAdapter();
      const device = await adapter.requestDevice();
      const health = watchDevice(device, 'test adapter');
      (device as unknown as { createBuffer(d: object): unknown }).createBuffer({
        size: adapter.limits.maxBufferSize + 4096,
        usage: 0x80, // STORAGE
      });
      await vi.waitFor(() => expect(() => health.check()).toThrow(/ran out of memory|exceeded its limits/), {
        timeout: 5000,
      });
      try {
        health.check();
      } catch (e) {
        expect((e as FedauError).info.hint).toMatch(/smaller batch/);
      }
      device.destroy();
    });

    it('without permission, no software adapter is used, and the error says how to get one', async () => {
      delete process.env[SOFTWARE_ENV];
      try {
        const hardware = await findAdapter(false);
        if (hardware) {
          // A machine with a GPU: auto takes it, and never the software adapter.
          expect(hardware.facts.software).toBe(false);
          expect((await chooseBackend('auto')).adapter).toEqual(hardware.facts);
          return;
        }
        await expect(chooseBackend('webgpu')).rejects.toThrow(/no hardware GPU adapter/);
        await expect(chooseBackend('webgpu')).rejects.toMatchObject({
          info: { hint: expect.stringMatching(/--backend wasm.*FEDAU_WEBGPU_SOFTWARE=1/) },
        });
        expect((await chooseBackend('auto')).name).toBe('wasm');
      } finally {
        process.env[SOFTWARE_ENV] = '1';
      }
    });
  });
});
