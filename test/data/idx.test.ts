import { createHash } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { DataError, formatError } from '../../src/core/errors.ts';
import { parseIdx } from '../../src/data/idx.ts';
import { findMnistFiles, loadMnist, npmMnistDir } from '../../src/data/mnist.ts';
import { gz, idxBytes, tinyMnistFiles } from '../helpers/idx.ts';
import { tempDir } from '../helpers/run-inline.ts';

function dataError(fn: () => unknown): DataError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(DataError);
    return error as DataError;
  }
  throw new Error('expected a DataError');
}

describe('IDX files', () => {
  const good = idxBytes([2, 3, 2], Uint8Array.from([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]));

  it('parses dims and data, gzipped or not', () => {
    for (const bytes of [good, gz(good)]) {
      const parsed = parseIdx(bytes, 'x.idx');
      expect(parsed.dims).toEqual([2, 3, 2]);
      expect([...parsed.data]).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
    }
  });

  it('rejects a wrong magic number, naming the file and the bytes found', () => {
    const e = dataError(() =>
      parseIdx(idxBytes([1], Uint8Array.of(1), { magic: [0x50, 0x4b] }), 'data/train-images-idx3-ubyte'),
    );
    expect(formatError(e)).toContain(
      'data/train-images-idx3-ubyte: data/train-images-idx3-ubyte is not an IDX file: wrong magic number',
    );
    expect(e.info.got).toBe('50 4b 08 01');
  });

  it('rejects non-byte data types', () => {
    expect(dataError(() => parseIdx(idxBytes([1], Uint8Array.of(0, 0, 0, 1), { type: 0x0c }), 'f')).message).toContain(
      'IDX type int',
    );
  });

  it('rejects truncated headers, truncated data and trailing bytes', () => {
    expect(dataError(() => parseIdx(good.subarray(0, 9), 'f')).message).toContain('truncated in its IDX header');
    const short = dataError(() => parseIdx(good.subarray(0, good.length - 1), 'f'));
    expect(short.message).toContain('is truncated');
    expect(short.info).toMatchObject({ expected: '12 data bytes', got: '11' });
    expect(dataError(() => parseIdx(Uint8Array.from([...good, 0]), 'f')).message).toContain('has trailing bytes');
  });

  it('rejects a broken gzip stream', () => {
    const broken = gz(good).subarray(0, 20);
    expect(dataError(() => parseIdx(broken, 'train.gz')).message).toContain('train.gz is not a valid gzip file');
  });

  it('unzips no further than its header announces: a valid header then endless zeros is refused early', () => {
    // 12 announced data bytes, then 128 MB of zeros: an eighth of a megabyte gzipped.
    const bomb = new Uint8Array(gzipSync(Buffer.concat([good, Buffer.alloc(128 << 20)]), { level: 9 }));
    expect(bomb.length).toBeLessThan(1 << 20);
    const before = process.memoryUsage().arrayBuffers;
    const e = dataError(() => parseIdx(bomb, 'train-images-idx3-ubyte.gz'));
    expect(e.message).toContain('unzips to more than 28 bytes, more than its IDX header announces');
    expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(32 << 20);
    const huge = idxBytes([60000, 28000, 28000], new Uint8Array(4));
    expect(dataError(() => parseIdx(gz(huge), 'big.gz')).message).toContain('announces 47040000000016 bytes');
  });

  it('loads a folder of MNIST files, gzipped or not, and checks that they agree', async () => {
    const dir = await tempDir();
    const files = tinyMnistFiles(12, 4);
    for (const [name, bytes] of Object.entries(files))
      await writeFile(
        join(dir, name.startsWith('train-images') ? `${name}.gz` : name),
        name.startsWith('train-images') ? gz(bytes) : bytes,
      );
    const ds = await loadMnist(await findMnistFiles(dir), { source: 'file' });
    expect(ds.header).toMatchObject({ trainCount: 12, testCount: 4, height: 28, width: 28, channels: 1, classes: 10 });
    expect([...ds.trainLabels.slice(0, 3)]).toEqual([0, 1, 2]);

    await writeFile(join(dir, 't10k-labels-idx1-ubyte'), idxBytes([5], Uint8Array.of(0, 1, 2, 3, 4)));
    const e = await loadMnist(await findMnistFiles(dir), { source: 'file' }).catch((x) => x);
    expect(e).toBeInstanceOf(DataError);
    expect(e.message).toBe('test images and labels disagree on the count');
    expect(e.info.file).toContain('t10k-labels-idx1-ubyte');
  });

  it('names the missing files of an incomplete folder', async () => {
    const dir = await tempDir();
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, 'train-images-idx3-ubyte'), tinyMnistFiles()['train-images-idx3-ubyte']);
    const e = await findMnistFiles(dir).catch((x) => x);
    expect(e.message).toContain('lacks train-labels-idx1-ubyte, t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte');
  });

  it('the embedded MNIST is the real one: 60 000 + 10 000 images, published digests', async () => {
    const files = await findMnistFiles(npmMnistDir());
    const ds = await loadMnist(files, { source: 'npm' });
    expect(ds.header).toMatchObject({ trainCount: 60000, testCount: 10000 });
    const digest = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
    // SHA-256 of the uncompressed train-images-idx3-ubyte file as published with the canonical archives.
    const { readFile } = await import('node:fs/promises');
    expect(digest(await readFile(files.trainImages))).toBe(
      'ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db',
    );
  });
});
