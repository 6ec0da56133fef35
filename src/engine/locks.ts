import { randomBytes } from 'node:crypto';
import { link, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { InterruptedError } from './errors.ts';
import { processAlive } from './fs-atomic.ts';
import { safeReaddir } from './store.ts';

interface LockOwner {
  pid: number;
  host: string;
  createdAt: string;
  what: string;
}

export interface Lock {
  readonly path: string;
  release(): Promise<void>;
}

/**
 * Inter-process locks as files in `<store>/locks`. A lock is created by hard-linking a fully written
 * temp file, so its content is never seen half-written; a lock whose process is gone is stale and is taken over.
 */
export class LockDir {
  readonly dir: string;
  constructor(storeRoot: string) {
    this.dir = join(storeRoot, 'locks');
  }

  /** Tries once; returns the lock, or the owner that holds it. */
  async tryAcquire(name: string, what: string): Promise<Lock | LockOwner> {
    await mkdir(this.dir, { recursive: true });
    const path = join(this.dir, `${name}.lock`);
    const owner: LockOwner = { pid: process.pid, host: hostname(), createdAt: new Date().toISOString(), what };
    const tmp = join(this.dir, `.${name}.${process.pid}.${randomBytes(4).toString('hex')}`);
    await writeFile(tmp, JSON.stringify(owner));
    try {
      for (let attempt = 0; attempt < 3; attempt++) {
        try {
          await link(tmp, path);
          return { path, release: () => rm(path, { force: true }) };
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
          const holder = await readOwner(path);
          if (holder && isLive(holder)) return holder;
          // Stale (its process died, e.g. SIGKILL): remove and retry.
          await rm(path, { force: true });
        }
      }
      const holder = await readOwner(path);
      if (holder) return holder;
      throw new Error(`could not take lock ${path}`);
    } finally {
      await rm(tmp, { force: true });
    }
  }

  /** Waits until the lock is free; `onWait` is told once who holds it. */
  async acquire(
    name: string,
    what: string,
    opts: { signal?: AbortSignal; onWait?: (owner: LockOwner) => void; pollMs?: number } = {},
  ): Promise<Lock> {
    let told = false;
    for (;;) {
      if (opts.signal?.aborted) throw new InterruptedError();
      const result = await this.tryAcquire(name, what);
      if ('release' in result) return result;
      if (!told) {
        opts.onWait?.(result);
        told = true;
      }
      await new Promise((resolve) => setTimeout(resolve, opts.pollMs ?? 250));
    }
  }

  /** Locks held by live processes (for `fedau gc`, which must not delete what a running pipeline is writing). */
  async live(): Promise<(LockOwner & { name: string })[]> {
    const out = [];
    for (const file of await safeReaddir(this.dir)) {
      if (!file.endsWith('.lock')) continue;
      const owner = await readOwner(join(this.dir, file));
      if (owner && isLive(owner)) out.push({ ...owner, name: file.slice(0, -5) });
    }
    return out;
  }

  /** Removes locks whose process is gone; returns how many. */
  async removeStale(): Promise<number> {
    let removed = 0;
    for (const file of await safeReaddir(this.dir)) {
      const path = join(this.dir, file);
      if (file.startsWith('.')) {
        const pid = Number(file.split('.')[2]);
        if (!processAlive(pid)) {
          await rm(path, { force: true });
          removed++;
        }
        continue;
      }
      const owner = await readOwner(path);
      if (!owner || !isLive(owner)) {
        await rm(path, { force: true });
        removed++;
      }
    }
    return removed;
  }
}

async function readOwner(path: string): Promise<LockOwner | undefined> {
  try {
    return JSON.parse(await readFile(path, 'utf8')) as LockOwner;
  } catch {
    return undefined;
  }
}

function isLive(owner: LockOwner): boolean {
  // A lock from another host cannot be checked; it is respected.
  return owner.host !== hostname() || processAlive(owner.pid);
}
