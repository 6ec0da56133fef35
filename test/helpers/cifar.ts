import { gzipSync } from 'node:zlib';

/** A CIFAR binary batch of `n` records: pixel (p, channel c) of record i is (i + 7p + 50c + shift) mod 256. */
export function cifarBatch(
  kind: 'cifar10' | 'cifar100',
  n: number,
  labelOf: (i: number) => number,
  shift = 0,
): Uint8Array {
  const labelBytes = kind === 'cifar10' ? 1 : 2;
  const record = labelBytes + 3072;
  const out = new Uint8Array(n * record);
  for (let i = 0; i < n; i++) {
    const base = i * record;
    if (kind === 'cifar100') out[base] = labelOf(i) % 20; // coarse
    out[base + labelBytes - 1] = labelOf(i);
    for (let c = 0; c < 3; c++)
      for (let p = 0; p < 1024; p++) out[base + labelBytes + c * 1024 + p] = (i + 7 * p + 50 * c + shift) % 256;
  }
  return out;
}

export interface TarSpec {
  name: string;
  data?: Uint8Array;
  /** '0' file (default), '5' directory, '1' hard link, '2' symlink */
  type?: string;
  linkname?: string;
}

/** A ustar archive, as tar(1) writes them. */
export function tarArchive(entries: TarSpec[]): Uint8Array {
  const blocks: Uint8Array[] = [];
  const enc = new TextEncoder();
  const put = (h: Uint8Array, off: number, len: number, s: string) => h.set(enc.encode(s).subarray(0, len), off);
  for (const e of entries) {
    const data = e.data ?? new Uint8Array();
    const h = new Uint8Array(512);
    put(h, 0, 100, e.name);
    put(h, 100, 8, '0000644\0');
    put(h, 108, 8, '0000000\0');
    put(h, 116, 8, '0000000\0');
    put(h, 124, 12, `${data.length.toString(8).padStart(11, '0')}\0`);
    put(h, 136, 12, '00000000000\0');
    h.fill(32, 148, 156);
    h[156] = (e.type ?? '0').charCodeAt(0);
    put(h, 157, 100, e.linkname ?? '');
    put(h, 257, 6, 'ustar\0');
    put(h, 263, 2, '00');
    let sum = 0;
    for (const b of h) sum += b;
    put(h, 148, 8, `${sum.toString(8).padStart(6, '0')}\0 `);
    blocks.push(h);
    if (data.length) {
      const padded = new Uint8Array(Math.ceil(data.length / 512) * 512);
      padded.set(data);
      blocks.push(padded);
    }
  }
  blocks.push(new Uint8Array(1024));
  const out = new Uint8Array(blocks.reduce((n, b) => n + b.length, 0));
  let o = 0;
  for (const b of blocks) {
    out.set(b, o);
    o += b.length;
  }
  return out;
}

export const gzip = (b: Uint8Array) => new Uint8Array(gzipSync(b));

/**
 * A tiny cifar-10-binary.tar.gz (or, with `compress` false, .tar): 5 train batches of `perBatch` records and a test
 * batch; `shift` changes the pixels, not the size.
 */
export function tinyCifar10Archive(perBatch = 4, test = 6, shift = 0, compress = true): Uint8Array {
  const label = (i: number) => i % 10;
  return (compress ? gzip : (b: Uint8Array) => b)(
    tarArchive([
      { name: 'cifar-10-batches-bin/', type: '5' },
      ...[1, 2, 3, 4, 5].map((b) => ({
        name: `cifar-10-batches-bin/data_batch_${b}.bin`,
        data: cifarBatch('cifar10', perBatch, (i) => label(i + b), shift),
      })),
      { name: 'cifar-10-batches-bin/test_batch.bin', data: cifarBatch('cifar10', test, label) },
      {
        name: 'cifar-10-batches-bin/batches.meta.txt',
        data: new TextEncoder().encode('airplane\nautomobile\nbird\ncat\ndeer\ndog\nfrog\nhorse\nship\ntruck\n'),
      },
    ]),
  );
}

export function tinyCifar100Archive(train = 30, test = 10): Uint8Array {
  return gzip(
    tarArchive([
      { name: 'cifar-100-binary/train.bin', data: cifarBatch('cifar100', train, (i) => (i * 37) % 100) },
      { name: 'cifar-100-binary/test.bin', data: cifarBatch('cifar100', test, (i) => (i * 11) % 100) },
    ]),
  );
}
