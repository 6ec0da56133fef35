import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runPipeline } from '../../src/index.ts';
import { tempDir } from '../helpers/run-inline.ts';

const pipeline = (name: string, dataset: string, model: string, mode: string) => `
name: ${name}
stages:
  data: { uses: dataset, with: { name: ${dataset}, source: synthetic, synthetic: { train: 30, test: 12 } } }
  split:
    uses: partition
    needs: { dataset: data.dataset }
    with: { clients: 3, mode: ${mode}, proportion: 0.25, classId: 1 }
  train:
    uses: train-federation
    needs: { dataset: data.dataset, partition: split.partition }
    with: { model: ${model}, rounds: 2, localEpochs: 1, batchSize: 8 }
  forget: { uses: unlearn, needs: { federation: train.federation } }
  eval:
    uses: evaluate
    needs: { dataset: data.dataset, partition: split.partition, federation: train.federation, model: forget.model }
  report: { uses: report, needs: { metrics: eval.metrics, history: train.history } }
`;

describe('CIFAR-shaped pipelines end to end on generated data', () => {
  it.each([
    ['cifar10-alexnet', 'cifar10', 'alexnet', 'samples'],
    ['cifar100-resnet18', 'cifar100', 'resnet18', 'class'],
  ])(
    '%s: dataset → partition → train → unlearn → evaluate → report',
    async (name, dataset, model, mode) => {
      const dir = await tempDir();
      await writeFile(join(dir, 'p.yaml'), pipeline(name, dataset, model, mode));
      const result = await runPipeline(join(dir, 'p.yaml'), { store: join(dir, 'store'), workDir: dir });
      expect(result.status, JSON.stringify(result.stages.train.error)).toBe('success');
      const report = JSON.parse(await readFile(join(dir, 'reports', name, 'report.json'), 'utf8'));
      expect(report).toMatchObject({
        dataset,
        model,
        mode,
        clients: 3,
        rounds: 2,
        forgetMetric: mode === 'class' ? 'class-accuracy' : 'backdoor-asr',
      });
      expect(report.history).toHaveLength(2);
      expect(report.original.testAccuracy).toBeGreaterThanOrEqual(0);
      expect(result.stages.train.outputs!.federation.meta).toMatchObject({ model });
      // ResNet18 trains, retrains and is judged on wasm: 41 s in CI, more on a busy machine.
    },
    180_000,
  );
});
