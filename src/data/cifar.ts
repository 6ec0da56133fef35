import { readdir, readFile, rm, stat } from 'node:fs/promises';
import { join, relative } from 'node:path';
import type { Dataset } from '../artifacts/dataset.ts';
import { DataError } from '../core/errors.ts';
import { sha256 } from '../core/hash.ts';
import { extractedIntact, extractTar, readTar } from './tar.ts';

export type CifarName = 'cifar10' | 'cifar100';

/** The binary layout of each (https://www.cs.toronto.edu/~kriz/cifar.html). */
export const CIFAR = {
  cifar10: {
    url: 'https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz',
    archive: 'cifar-10-binary.tar.gz',
    sha256: 'c4a38c50a1bc5f3a1c5537f2155ab9d68f9f25eb1ed8d9ddda3db29a59bca1dd',
    folder: 'cifar-10-batches-bin',
    train: ['data_batch_1.bin', 'data_batch_2.bin', 'data_batch_3.bin', 'data_batch_4.bin', 'data_batch_5.bin'],
    test: ['test_batch.bin'],
    labelBytes: 1,
    classes: 10,
    names: 'batches.meta.txt',
  },
  cifar100: {
    url: 'https://www.cs.toronto.edu/~kriz/cifar-100-binary.tar.gz',
    archive: 'cifar-100-binary.tar.gz',
    sha256: '58a81ae192c23a4be8b1804d68e518ed807d710a4eb253b1f2a199162a40d8ec',
    folder: 'cifar-100-binary',
    train: ['train.bin'],
    test: ['test.bin'],
    // coarse label, then fine label: the fine label is the class
    labelBytes: 2,
    classes: 100,
    names: 'fine_label_names.txt',
  },
} as const;

const PIXELS = 32 * 32;

/**
 * The most a CIFAR archive can hold once unzipped: six batch files of fixed size (CIFAR-10: 6 × 10 000 records of
 * 3 073 bytes; CIFAR-100: 60 000 records of 3 074 bytes), their label names and tar headers, rounded up. A larger
 * archive is refused as it unzips.
 */
export const CIFAR_MAX_ARCHIVE_BYTES = 200_000_000;

/** Parses CIFAR binary records into HWC uint8 images and the (fine) labels. */
export function parseCifarBatch(
  bytes: Uint8Array,
  name: CifarName,
  file: string,
): { images: Uint8Array; labels: Uint8Array } {
  const spec = CIFAR[name];
  const record = spec.labelBytes + 3 * PIXELS;
  if (bytes.length === 0 || bytes.length % record !== 0) {
    throw new DataError(
      `${file} is not a ${name} binary batch: ${bytes.length} bytes is not a whole number of ${record}-byte records`,
      {
        file,
        expected: `a multiple of ${record} bytes`,
        got: `${bytes.length}`,
        hint: bytes.length % record ? 'the file is truncated or of the other CIFAR variant' : 'the file is empty',
      },
    );
  }
  const count = bytes.length / record;
  const images = new Uint8Array(count * 3 * PIXELS);
  const labels = new Uint8Array(count);
  for (let n = 0; n < count; n++) {
    const base = n * record;
    const label = bytes[base + spec.labelBytes - 1];
    if (label >= spec.classes)
      throw new DataError(`${file} record ${n} has label ${label}; ${name} has ${spec.classes} classes`, { file });
    labels[n] = label;
    // Records store the red plane, then green, then blue (CHW); fedau's images are HWC.
    const src = base + spec.labelBytes;
    const dst = n * 3 * PIXELS;
    for (let p = 0; p < PIXELS; p++) {
      images[dst + 3 * p] = bytes[src + p];
      images[dst + 3 * p + 1] = bytes[src + PIXELS + p];
      images[dst + 3 * p + 2] = bytes[src + 2 * PIXELS + p];
    }
  }
  return { images, labels };
}

/** Finds the batch files under `dir` (the extracted folder, or a folder holding it). */
async function findBatchDir(dir: string, name: CifarName): Promise<string> {
  const spec = CIFAR[name];
  for (const candidate of [dir, join(dir, spec.folder)]) {
    const entries = await readdir(candidate).catch(() => [] as string[]);
    if ([...spec.train, ...spec.test].every((f) => entries.includes(f))) return candidate;
  }
  throw new DataError(`${dir} does not hold the ${name} binary batches (${[...spec.train, ...spec.test].join(', ')})`, {
    file: dir,
    hint: `point \`path\` at ${spec.archive} or at the folder it extracts to (${spec.folder}/)`,
  });
}

/** Loads CIFAR from an archive (.tar.gz/.tgz/.tar, extracted safely next to `extractRoot`) or an extracted folder. */
export async function loadCifar(
  path: string,
  name: CifarName,
  opts: { extractRoot: string; source: string },
): Promise<Dataset> {
  const info = await stat(path).catch(() => undefined);
  if (!info) {
    throw new DataError(`${path} does not exist`, {
      file: path,
      hint:
        `download ${CIFAR[name].url} (SHA-256 ${CIFAR[name].sha256}) and pass its path, ` +
        'or use `source: url` on a machine with internet',
    });
  }
  let dir = path;
  if (info.isFile()) {
    const raw = new Uint8Array(await readFile(path));
    // Named by the archive's content, and checked file by file on reuse: an archive replaced with the same size
    // and time, or an extracted file changed since, is never read stale.
    dir = join(opts.extractRoot, `${name}-${sha256(raw).slice(0, 16)}`);
    if (!(await extractedIntact(dir))) {
      await rm(dir, { recursive: true, force: true });
      await extractTar(readTar(raw, path, CIFAR_MAX_ARCHIVE_BYTES), dir);
    }
  }
  const batchDir = await findBatchDir(dir, name);
  const read = async (files: readonly string[]) => {
    const parts = [];
    for (const f of files)
      parts.push(
        parseCifarBatch(
          new Uint8Array(await readFile(join(batchDir, f))),
          name,
          relative(process.cwd(), join(batchDir, f)) || f,
        ),
      );
    const images = new Uint8Array(parts.reduce((n, p) => n + p.images.length, 0));
    const labels = new Uint8Array(parts.reduce((n, p) => n + p.labels.length, 0));
    let io = 0;
    let lo = 0;
    for (const p of parts) {
      images.set(p.images, io);
      labels.set(p.labels, lo);
      io += p.images.length;
      lo += p.labels.length;
    }
    return { images, labels };
  };
  const train = await read(CIFAR[name].train);
  const test = await read(CIFAR[name].test);
  const classNames = (await readFile(join(batchDir, CIFAR[name].names), 'utf8').catch(() => ''))
    .split('\n')
    .map((s) => s.trim())
    .filter(Boolean);
  return {
    header: {
      name,
      source: opts.source,
      height: 32,
      width: 32,
      channels: 3,
      classes: CIFAR[name].classes,
      trainCount: train.labels.length,
      testCount: test.labels.length,
      ...(classNames.length === CIFAR[name].classes ? { classNames } : {}),
    },
    trainImages: train.images,
    trainLabels: train.labels,
    testImages: test.images,
    testLabels: test.labels,
  };
}
