import { createHash } from 'node:crypto';
import { mkdir, readdir, readFile, stat, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterEach, describe, expect, it } from 'vitest';
import { DataError } from '../../src/core/errors.ts';
import { CIFAR_MAX_ARCHIVE_BYTES, loadCifar, parseCifarBatch } from '../../src/data/cifar.ts';
import { extractTar, readTar } from '../../src/data/tar.ts';
import { runPipeline } from '../../src/index.ts';
import { cifarBatch, gzip, tarArchive, tinyCifar10Archive, tinyCifar100Archive } from '../helpers/cifar.ts';
import { serve } from '../helpers/http-server.ts';
import { tempDir } from '../helpers/run-inline.ts';

let closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  await Promise.all(closers.map((c) => c()));
  closers = [];
});

describe('CIFAR binary format', () => {
  it('CIFAR-10: label byte, then the red, green and blue planes, turned into HWC', () => {
    const { images, labels } = parseCifarBatch(
      cifarBatch('cifar10', 3, (i) => i + 4),
      'cifar10',
      'b.bin',
    );
    expect([...labels]).toEqual([4, 5, 6]);
    // record 1, pixel 10, channels R, G, B = (1 + 70 + 50c) mod 256
    expect([...images.subarray(1 * 3072 + 30, 1 * 3072 + 33)]).toEqual([71, 121, 171]);
  });

  it('CIFAR-100: coarse then fine label; the fine label is the class', () => {
    const { labels } = parseCifarBatch(
      cifarBatch('cifar100', 3, (i) => 90 + i),
      'cifar100',
      'train.bin',
    );
    expect([...labels]).toEqual([90, 91, 92]);
  });

  it('rejects truncated batches and the other variant, naming the file', () => {
    const e = (() => {
      try {
        parseCifarBatch(cifarBatch('cifar10', 2, () => 1).subarray(0, 5000), 'cifar10', 'data_batch_1.bin');
      } catch (x) {
        return x as DataError;
      }
    })()!;
    expect(e.message).toContain(
      'data_batch_1.bin is not a cifar10 binary batch: 5000 bytes is not a whole number of 3073-byte records',
    );
    expect(() =>
      parseCifarBatch(
        cifarBatch('cifar100', 3, () => 1),
        'cifar10',
        'x.bin',
      ),
    ).toThrow(/not a whole number of 3073-byte records/);
  });

  it('loads both archives and an extracted folder', async () => {
    const dir = await tempDir();
    await writeFile(join(dir, 'cifar-10-binary.tar.gz'), tinyCifar10Archive(4, 6));
    await writeFile(join(dir, 'cifar-100-binary.tar.gz'), tinyCifar100Archive(30, 10));
    const c10 = await loadCifar(join(dir, 'cifar-10-binary.tar.gz'), 'cifar10', {
      extractRoot: join(dir, 'x'),
      source: 'file',
    });
    expect(c10.header).toMatchObject({
      name: 'cifar10',
      height: 32,
      width: 32,
      channels: 3,
      classes: 10,
      trainCount: 20,
      testCount: 6,
    });
    expect(c10.header.classNames?.[9]).toBe('truck');
    const c100 = await loadCifar(join(dir, 'cifar-100-binary.tar.gz'), 'cifar100', {
      extractRoot: join(dir, 'x'),
      source: 'file',
    });
    expect(c100.header).toMatchObject({ classes: 100, trainCount: 30, testCount: 10 });
    expect(c100.trainLabels[3]).toBe(11);
    const [extracted] = (await readdir(join(dir, 'x'))).filter((d) => d.startsWith('cifar10'));
    const fromFolder = await loadCifar(join(dir, 'x', extracted), 'cifar10', {
      extractRoot: join(dir, 'y'),
      source: 'file',
    });
    expect(fromFolder.trainImages).toEqual(c10.trainImages);
  });

  it("reuses an extraction only while its content is the archive's, else extracts again", async () => {
    const dir = await tempDir();
    const archive = join(dir, 'cifar-10-binary.tar');
    const opts = { extractRoot: join(dir, 'x'), source: 'file' };
    await writeFile(archive, tinyCifar10Archive(4, 6, 1, false));
    const first = await loadCifar(archive, 'cifar10', opts);
    // Same size and the same modification time, other images: a size-and-time key would reuse the old folder.
    const before = await stat(archive);
    await writeFile(archive, tinyCifar10Archive(4, 6, 2, false));
    await utimes(archive, before.atime, before.mtime);
    expect((await stat(archive)).size).toBe(before.size);
    const second = await loadCifar(archive, 'cifar10', opts);
    expect(second.trainImages).not.toEqual(first.trainImages);
    // An extracted batch changed on disk is noticed and extracted again from the archive.
    const [folder] = (await readdir(join(dir, 'x'))).filter((d) => d.startsWith('cifar10'));
    const batch = join(dir, 'x', folder, 'cifar-10-batches-bin', 'data_batch_1.bin');
    const bytes = await readFile(batch);
    bytes[5] ^= 0xff;
    await writeFile(batch, bytes);
    expect((await loadCifar(archive, 'cifar10', opts)).trainImages).toEqual(second.trainImages);
  });
});

describe('safe extraction', () => {
  const hostile: [string, Parameters<typeof tarArchive>[0][number], RegExp][] = [
    [
      'an absolute path',
      { name: '/etc/cron.d/evil', data: new Uint8Array(3) },
      /holds the absolute path "\/etc\/cron\.d\/evil": refused/,
    ],
    [
      'a path that climbs out',
      { name: 'cifar-10-batches-bin/../../evil.sh', data: new Uint8Array(3) },
      /climbs out of the extraction folder with "\.\.": refused/,
    ],
    [
      'a symbolic link',
      { name: 'cifar-10-batches-bin/link', type: '2', linkname: '/etc/passwd' },
      /"cifar-10-batches-bin\/link", which is a symbolic link: refused/,
    ],
    [
      'a hard link',
      { name: 'cifar-10-batches-bin/hard', type: '1', linkname: '/etc/shadow' },
      /which is a hard link: refused/,
    ],
  ];
  for (const [what, entry, message] of hostile) {
    it(`refuses ${what}, and writes nothing`, async () => {
      const dir = await tempDir();
      const archive = join(dir, 'evil.tar.gz');
      await writeFile(archive, gzip(tarArchive([{ name: 'ok.txt', data: new Uint8Array(4) }, entry])));
      const e = await loadCifar(archive, 'cifar10', { extractRoot: join(dir, 'out'), source: 'file' }).catch((x) => x);
      expect(e).toBeInstanceOf(DataError);
      expect(e.message).toMatch(message);
      expect(e.info.file).toBe(archive);
      expect(await readdir(dir)).toEqual(['evil.tar.gz']);
    });
  }

  it('rejects a corrupt header and a truncated archive', () => {
    const good = tarArchive([{ name: 'a.bin', data: new Uint8Array(1000) }]);
    const corrupt = good.slice();
    corrupt[10] ^= 0xff;
    expect(() => readTar(corrupt, 'a.tar', 1 << 20)).toThrow(/bad header checksum at byte 0/);
    expect(() => readTar(good.subarray(0, 700), 'a.tar', 1 << 20)).toThrow(/truncated inside the entry at byte 0/);
  });

  it('refuses an archive that unzips to more than its dataset can hold, before it is all unzipped', () => {
    const bomb = new Uint8Array(gzipSync(new Uint8Array(8 << 20)));
    expect(bomb.length).toBeLessThan(64 << 10);
    expect(() => readTar(bomb, 'bomb.tar.gz', 1 << 20)).toThrow(
      /bomb\.tar\.gz unzips to more than 1048576 bytes, more than its dataset can take/,
    );
    expect(() => readTar(new Uint8Array(2 << 20), 'big.tar', 1 << 20)).toThrow(/more than the 1048576/);
    expect(CIFAR_MAX_ARCHIVE_BYTES).toBeLessThan(250e6);
  });

  it('extracts atomically into the destination', async () => {
    const dir = await tempDir();
    await extractTar(
      readTar(
        tarArchive([
          { name: 'd/', type: '5' },
          { name: 'd/f.bin', data: Uint8Array.of(1, 2) },
        ]),
        't',
        1 << 20,
      ),
      join(dir, 'out'),
    );
    expect(await readdir(join(dir, 'out', 'd'))).toEqual(['f.bin']);
    expect((await readdir(dir)).filter((f) => f.includes('partial'))).toEqual([]);
  });
});

describe('the dataset stage with CIFAR', () => {
  async function run(yaml: string, dir: string) {
    const file = join(dir, 'p.yaml');
    await writeFile(file, `name: c\nstages:\n  data: { uses: dataset, with: ${yaml} }\n`);
    return runPipeline(file, { store: join(dir, 'store'), workDir: dir });
  }

  it('source url: downloads, checks the SHA-256, survives an interrupted download, extracts, parses', async () => {
    const archive = tinyCifar10Archive();
    const sha = createHash('sha256').update(archive).digest('hex');
    const s = await serve({
      'kriz/cifar-10-binary.tar.gz': { body: archive, cutAfter: Math.floor(archive.length / 2) },
    });
    closers.push(s.close);
    const dir = await tempDir();
    const yaml = (digest: string) =>
      `{ name: cifar10, source: url, url: "${s.url}kriz/cifar-10-binary.tar.gz", ` +
      `sha256: { "cifar-10-binary.tar.gz": "${digest}" } }`;
    const cut = await run(yaml(sha), dir);
    expect(cut.status).toBe('failure');
    // Whether any bytes arrived before the cut depends on the socket; resuming them is tested in download.test.ts.
    expect(cut.stages.data.error!.message).toMatch(
      /cannot download cifar-10-binary\.tar\.gz: .*connection (lost|reset)/,
    );
    const resumed = await run(yaml(sha), dir);
    expect(resumed.status).toBe('success');
    expect(resumed.stages.data.outputs!.dataset.meta).toMatchObject({
      name: 'cifar10',
      train: 20,
      test: 6,
      classes: 10,
    });

    const wrong = await run(yaml('0'.repeat(64)), await tempDir());
    expect(wrong.stages.data.error!.message).toContain('checksum mismatch for cifar-10-binary.tar.gz');
  });

  it('offline: a missing dataset says how to get it, without hanging', async () => {
    const dir = await tempDir();
    const missing = await run('{ name: cifar100, source: file, path: data/cifar-100-binary.tar.gz }', dir);
    expect(missing.stages.data.error!.message).toContain('cifar-100-binary.tar.gz does not exist');
    expect(missing.stages.data.error!.info!.hint).toContain('https://www.cs.toronto.edu/~kriz/cifar-100-binary.tar.gz');
    const closed = await serve({});
    await closed.close();
    const offline = await run(
      `{ name: cifar10, source: url, url: "${closed.url}cifar-10-binary.tar.gz", ` +
        `sha256: { "cifar-10-binary.tar.gz": "${'a'.repeat(64)}" } }`,
      dir,
    );
    expect(offline.stages.data.error!.message).toContain('connection refused');
    expect(offline.stages.data.error!.info!.hint).toContain('source: file');
    await mkdir(join(dir, 'empty'));
    const wrongFolder = await run('{ name: cifar10, source: file, path: empty }', dir);
    expect(wrongFolder.stages.data.error!.message).toContain('does not hold the cifar10 binary batches');
  });
});
