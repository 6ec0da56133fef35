import { gzipSync } from 'node:zlib';

/** An IDX file of unsigned bytes, as LeCun's format lays it out. */
export function idxBytes(
  dims: number[],
  data: Uint8Array,
  opts: { type?: number; magic?: [number, number] } = {},
): Uint8Array {
  const header = new Uint8Array(4 + 4 * dims.length);
  header[0] = opts.magic?.[0] ?? 0;
  header[1] = opts.magic?.[1] ?? 0;
  header[2] = opts.type ?? 0x08;
  header[3] = dims.length;
  const view = new DataView(header.buffer);
  for (const [i, d] of dims.entries()) view.setUint32(4 + 4 * i, d, false);
  const out = new Uint8Array(header.length + data.length);
  out.set(header);
  out.set(data, header.length);
  return out;
}

export const gz = (b: Uint8Array) => new Uint8Array(gzipSync(b));

/** The four files of a tiny MNIST-format dataset. */
export function tinyMnistFiles(train = 12, test = 4): Record<string, Uint8Array> {
  const images = (n: number) => Uint8Array.from({ length: n * 28 * 28 }, (_, i) => (i * 7) % 256);
  const labels = (n: number) => Uint8Array.from({ length: n }, (_, i) => i % 10);
  return {
    'train-images-idx3-ubyte': idxBytes([train, 28, 28], images(train)),
    'train-labels-idx1-ubyte': idxBytes([train], labels(train)),
    't10k-images-idx3-ubyte': idxBytes([test, 28, 28], images(test)),
    't10k-labels-idx1-ubyte': idxBytes([test], labels(test)),
  };
}
