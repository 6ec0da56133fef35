import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { FedauError } from '../../src/core/errors.ts';
import { collectGarbage } from '../../src/engine/gc.ts';
import { LockDir } from '../../src/engine/locks.ts';
import { ArtifactStore } from '../../src/engine/store.ts';
import { fedau } from '../helpers/cli.ts';
import { tempDir } from '../helpers/run-inline.ts';

/** A lock as another machine sharing the store would have left it, its last heartbeat `ageMs` ago. */
async function foreignLock(root: string, name: string, ageMs: number) {
  const at = new Date(Date.now() - ageMs).toISOString();
  await mkdir(join(root, 'locks'), { recursive: true });
  const owner = { pid: 4242, host: 'another-host', createdAt: at, heartbeatAt: at, token: 'x', what: 'fedau run p' };
  await writeFile(join(root, 'locks', `${name}.lock`), JSON.stringify(owner));
}

const savedStale = process.env.FEDAU_LEASE_STALE_MS;
afterEach(() => {
  if (savedStale === undefined) delete process.env.FEDAU_LEASE_STALE_MS;
  else process.env.FEDAU_LEASE_STALE_MS = savedStale;
});

describe('leases and gc', () => {
  it("another host's lock holds while its heartbeat is fresh, and is taken over once it stops", async () => {
    process.env.FEDAU_LEASE_STALE_MS = '60000';
    const store = new ArtifactStore(join(await tempDir(), 'store'));
    await store.init();
    await foreignLock(store.root, 'run-elsewhere', 5_000);
    const busy = await collectGarbage(store).catch((e) => e);
    expect(busy).toBeInstanceOf(FedauError);
    expect(busy.message).toContain('in use by a running fedau process: pid 4242 on another-host');

    await foreignLock(store.root, 'run-elsewhere', 10 * 60_000);
    const report = await collectGarbage(store);
    expect(report.staleLocks).toEqual([
      expect.objectContaining({ name: 'run-elsewhere', why: expect.stringMatching(/^no heartbeat from another-host/) }),
    ]);

    await foreignLock(store.root, 'k1', 10 * 60_000);
    const told: string[] = [];
    const lock = await new LockDir(store.root).acquire('k1', 'stage', { onTakeover: (_owner, why) => told.push(why) });
    expect(told[0]).toMatch(/no heartbeat from another-host for \d+ s/);
    await lock.release();
  });

  it('a held lease renews its heartbeat, so another process never sees it stale', async () => {
    process.env.FEDAU_LEASE_STALE_MS = '1000';
    const root = join(await tempDir(), 'store');
    const locks = new LockDir(root);
    const lock = await locks.acquire('k', 'a long stage');
    const first = JSON.parse(await import('node:fs/promises').then((fs) => fs.readFile(lock.path, 'utf8')));
    await new Promise((r) => setTimeout(r, 1500));
    const later = JSON.parse(await import('node:fs/promises').then((fs) => fs.readFile(lock.path, 'utf8')));
    expect(Date.parse(later.heartbeatAt)).toBeGreaterThan(Date.parse(first.heartbeatAt));
    expect((await locks.live()).map((l) => l.name)).toEqual(['k']);
    await lock.release();
    expect(await readdir(join(root, 'locks'))).toEqual([]);
  });

  it('gc of a folder that is not a store is an error, and deletes nothing', async () => {
    const dir = await tempDir();
    await writeFile(join(dir, 'important.txt'), 'keep me');
    const r = await fedau(['gc', '--store', dir]);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain(`${dir} is not a fedau store`);
    expect(await readdir(dir)).toEqual(['important.txt']);
  });

  it("gc of a worker's cache refuses while the worker holds it, then empties the cache", async () => {
    const store = new ArtifactStore(join(await tempDir(), 'cache'));
    await store.init('worker');
    const blob = await store.putBytes('dataset', new Uint8Array([1, 2, 3]));
    const lease = await new LockDir(store.root).acquire('worker-w1', 'fedau worker w1');
    await expect(collectGarbage(store)).rejects.toThrow(/in use by a running fedau process: .*fedau worker w1/);
    expect(await store.holds(blob.digest)).toBe(true);
    await lease.release();
    const report = await collectGarbage(store);
    expect(report.kind).toBe('worker');
    expect(report.objects.map((o) => o.digest)).toEqual([blob.digest]);
  });
});
