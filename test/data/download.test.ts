import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { DataError } from '../../src/core/errors.ts';
import { download } from '../../src/data/download.ts';
import { serve } from '../helpers/http-server.ts';
import { tempDir } from '../helpers/run-inline.ts';

const body = Uint8Array.from({ length: 200_000 }, (_, i) => (i * 31 + 7) % 251);
const sha = createHash('sha256').update(body).digest('hex');
let closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  await Promise.all(closers.map((c) => c()));
  closers = [];
});
async function server(files: Parameters<typeof serve>[0]) {
  const s = await serve(files);
  closers.push(s.close);
  return s;
}

describe('download', () => {
  it('fetches, verifies and names the file by its digest; a second call reuses it without a request', async () => {
    const s = await server({ 'data.bin': { body } });
    const dir = await tempDir();
    const progress: number[] = [];
    const path = await download({
      urls: [`${s.url}data.bin`],
      sha256: sha,
      fileName: 'data.bin',
      dir,
      onProgress: (r) => progress.push(r),
    });
    expect(path).toBe(join(dir, `${sha}-data.bin`));
    expect(new Uint8Array(await readFile(path))).toEqual(body);
    expect(progress.at(-1)).toBe(body.length);
    await download({ urls: [`${s.url}data.bin`], sha256: sha, fileName: 'data.bin', dir });
    expect(s.requests).toHaveLength(1);
  });

  it('a wrong checksum is a clear error, and nothing is kept under the final name', async () => {
    const s = await server({ 'data.bin': { body } });
    const dir = await tempDir();
    const wrong = '0'.repeat(64);
    const e = await download({ urls: [`${s.url}data.bin`], sha256: wrong, fileName: 'data.bin', dir }).catch((x) => x);
    expect(e).toBeInstanceOf(DataError);
    expect(e.message).toContain('checksum mismatch for data.bin');
    expect(e.info).toMatchObject({ expected: `sha256 ${wrong}`, got: `sha256 ${sha}` });
    expect(await readdir(dir)).toEqual([]);
  });

  it('an interrupted download is resumed from where it stopped, with a Range request', async () => {
    const s = await server({ 'data.bin': { body, cutAfter: 70_000 } });
    const dir = await tempDir();
    const req = { urls: [`${s.url}data.bin`], sha256: sha, fileName: 'data.bin', dir };
    const first = await download(req).catch((x) => x);
    expect(first).toBeInstanceOf(DataError);
    expect(first.message).toMatch(
      new RegExp(
        String.raw`cannot download data\.bin: http://127\.0\.0\.1:\d+/data\.bin: ` +
          String.raw`connection (lost|reset) after \d+ bytes \(kept; the next run resumes\)`,
      ),
    );
    expect(await readdir(dir)).toEqual([`${sha}-data.bin.partial`]);
    const path = await download(req);
    expect(new Uint8Array(await readFile(path))).toEqual(body);
    expect(s.requests[1].headers.range).toMatch(/^bytes=\d+-$/);
    expect(Number(/\d+/.exec(s.requests[1].headers.range!)![0])).toBeGreaterThan(0);
  });

  it('restarts cleanly when the server ignores ranges', async () => {
    const s = await server({ 'data.bin': { body, cutAfter: 50_000, noRanges: true } });
    const dir = await tempDir();
    const req = { urls: [`${s.url}data.bin`], sha256: sha, fileName: 'data.bin', dir };
    await download(req).catch(() => undefined);
    expect(new Uint8Array(await readFile(await download(req)))).toEqual(body);
  });

  it('tries the next mirror, and offline fails fast with a hint instead of hanging', async () => {
    const s = await server({ 'data.bin': { body } });
    const dir = await tempDir();
    const closed = await serve({});
    await closed.close();
    const dead = `${closed.url}data.bin`; // a port nothing listens on any more
    expect(await download({ urls: [dead, `${s.url}data.bin`], sha256: sha, fileName: 'data.bin', dir })).toContain(sha);
    const e = await download({
      urls: [dead],
      sha256: '1'.repeat(64),
      fileName: 'x.bin',
      dir,
      offlineHint: 'use source: file',
    }).catch((x) => x);
    expect(e.message).toBe(`cannot download x.bin: ${dead}: connection refused (ECONNREFUSED)`);
    expect(e.info.hint).toBe('use source: file');
  });

  it('gives up on a server that sends nothing', async () => {
    const s = await server({ 'data.bin': { body, silent: true } });
    const e = await download({
      urls: [`${s.url}data.bin`],
      sha256: sha,
      fileName: 'data.bin',
      dir: await tempDir(),
      idleTimeoutMs: 300,
    }).catch((x) => x);
    expect(e.message).toContain('no data for 0.3s');
  });
});
