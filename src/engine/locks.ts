import { randomBytes } from 'node:crypto';
import { link, mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { InterruptedError } from '../core/errors.ts';
import { processAlive } from '../core/fs-atomic.ts';
import { safeReaddir } from './store.ts';

export interface LockOwner {
  pid: number;
  host: string;
  createdAt: string;
  /** Renewed while the holder lives: a lock of another host is stale once this is too old. */
  heartbeatAt?: string;
  /** Tells this holder's lock from a later one at the same path. */
  token?: string;
  what: string;
}

export interface Lock {
  readonly path: string;
  release(): Promise<void>;
}

/**
 * How long a lease of another host lives without a heartbeat. A process of this host is checked directly (its pid),
 * so this matters only for stores shared between machines, where a crashed host would otherwise hold its locks for
 * ever.
 */
export function leaseStaleMs(env = process.env): number {
  return Number(env.FEDAU_LEASE_STALE_MS ?? 300_000);
}

/** Why a lock's holder is gone, or undefined while it lives. */
export function staleness(owner: LockOwner, now = Date.now()): string | undefined {
  if (owner.host === hostname()) return processAlive(owner.pid) ? undefined : `process ${owner.pid} is gone`;
  const beat = Date.parse(owner.heartbeatAt ?? owner.createdAt);
  const silent = now - (Number.isNaN(beat) ? 0 : beat);
  return silent > leaseStaleMs() ? `no heartbeat from ${owner.host} for ${Math.round(silent / 1000)} s` : undefined;
}

export const describeOwner = (o: LockOwner) => `pid ${o.pid} on ${o.host} (${o.what})`;

/**
 * Inter-process locks as leases in `<store>/locks`. A lock is created by hard-linking a fully written temp file, so
 * its content is never seen half-written; its holder renews a heartbeat in it while it lives. A lock whose process
 * is gone (this host) or whose heartbeat stopped (another host) is stale, and is taken over, with a message.
 */
export class LockDir {
  readonly dir: string;
  constructor(storeRoot: string) {
    this.dir = join(storeRoot, 'locks');
  }

  /** Tries once; returns the lock, or the owner that holds it. `onTakeover` hears of a stale lock taken over. */
  async tryAcquire(
    name: string,
    what: string,
    onTakeover?: (owner: LockOwner, why: string) => void,
  ): Promise<Lock | LockOwner> {
    await mkdir(this.dir, { recursive: true });
    const path = join(this.dir, `${name}.lock`);
    const now = new Date().toISOString();
    const owner: LockOwner = {
      pid: process.pid,
      host: hostname(),
      createdAt: now,
      heartbeatAt: now,
      token: randomBytes(8).toString('hex'),
      what,
    };
    const tmp = join(this.dir, `.${name}.${process.pid}.${randomBytes(4).toString('hex')}`);
    await writeFile(tmp, JSON.stringify(owner));
    try {
      for (let attempt = 0; attempt < 3; attempt++) {
        try {
          await link(tmp, path);
          return this.held(name, owner);
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
          const holder = await readOwner(path);
          const why = holder && staleness(holder);
          if (holder && !why) return holder;
          if (holder && why) onTakeover?.(holder, why);
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

  /** A held lock: its heartbeat runs until release, and stops if another process took the lease over. */
  private held(name: string, owner: LockOwner): Lock {
    const path = join(this.dir, `${name}.lock`);
    const beat = async () => {
      const current = await readOwner(path);
      if (current?.token !== owner.token) return clearInterval(timer);
      const next = { ...owner, heartbeatAt: new Date().toISOString() };
      // Named like the temp files above, so that one left by a killed process is cleaned as theirs are.
      const tmp = join(this.dir, `.${name}.${process.pid}.${randomBytes(4).toString('hex')}`);
      await writeFile(tmp, JSON.stringify(next));
      await rename(tmp, path).catch(() => rm(tmp, { force: true }));
    };
    const timer = setInterval(() => void beat().catch(() => undefined), Math.max(500, leaseStaleMs() / 5));
    timer.unref();
    return {
      path,
      release: async () => {
        clearInterval(timer);
        if ((await readOwner(path))?.token === owner.token) await rm(path, { force: true });
      },
    };
  }

  /** Waits until the lock is free; `onWait` is told once who holds it, `onTakeover` of a stale lock taken over. */
  async acquire(
    name: string,
    what: string,
    opts: {
      signal?: AbortSignal;
      onWait?: (owner: LockOwner) => void;
      onTakeover?: (owner: LockOwner, why: string) => void;
      pollMs?: number;
    } = {},
  ): Promise<Lock> {
    let told = false;
    for (;;) {
      if (opts.signal?.aborted) throw new InterruptedError();
      const result = await this.tryAcquire(name, what, opts.onTakeover);
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
      if (owner && !staleness(owner)) out.push({ ...owner, name: file.slice(0, -5) });
    }
    return out;
  }

  /** Removes locks whose holder is gone; returns each with the reason. */
  async removeStale(): Promise<{ name: string; owner?: LockOwner; why: string }[]> {
    const removed = [];
    for (const file of await safeReaddir(this.dir)) {
      const path = join(this.dir, file);
      if (file.startsWith('.')) {
        const pid = Number(file.split('.')[2]);
        if (!processAlive(pid)) await rm(path, { force: true });
        continue;
      }
      if (!file.endsWith('.lock')) continue;
      const owner = await readOwner(path);
      const why = owner ? staleness(owner) : 'unreadable';
      if (why) {
        await rm(path, { force: true });
        removed.push({ name: file.slice(0, -5), owner, why });
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
