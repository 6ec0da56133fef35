import { readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { FedauError } from '../core/errors.ts';
import { describeOwner, LockDir, type LockOwner } from './locks.ts';
import { type ArtifactStore, type StoreKind, safeReaddir } from './store.ts';

export interface GcReport {
  kind: StoreKind;
  /** Locks whose holder is gone (a killed process, a host without heartbeat), removed. */
  staleLocks: { name: string; owner?: LockOwner; why: string }[];
  objects: { digest: string; size: number }[];
  brokenRecords: string[];
  checkpoints: { key: string; size: number }[];
  tmp: { name: string; size: number }[];
  keptCheckpoints: { key: string; size: number }[];
  bytes: number;
  dryRun: boolean;
}

/**
 * Frees what no run record still references: unreferenced blobs (left by killed runs or corrupted entries),
 * records whose blobs are gone, checkpoints of trainings that finished, and temp files.
 * Checkpoints of unfinished trainings are kept (they let a killed run resume) unless `allCheckpoints`.
 * A worker's cache has no records: all its blobs go (the worker fetches them again), never while the worker runs.
 * A folder that is not a store is refused, and so is a store in use; stale locks are removed first.
 */
export async function collectGarbage(
  store: ArtifactStore,
  opts: { dryRun?: boolean; allCheckpoints?: boolean } = {},
): Promise<GcReport> {
  const kind = await store.identify();
  if (!kind) {
    throw new FedauError('FEDAU_USAGE', `${store.root} is not a fedau store`, {
      file: store.root,
      expected: 'a folder made by `fedau run` or `fedau worker` (fedau-store.json, objects/, records/)',
      got: 'none of these',
      hint: 'point --store (or FEDAU_STORE) at the store; the default is ./artifacts',
    });
  }
  const locks = new LockDir(store.root);
  const dryRun = opts.dryRun ?? false;
  const staleLocks = dryRun ? [] : await locks.removeStale();
  const live = await locks.live();
  if (live.length) {
    throw new FedauError(
      'FEDAU_STORE_BUSY',
      `the store is in use by a running fedau process: ${describeOwner(live[0])}`,
      {
        file: store.root,
        hint: `run \`fedau gc\` when no \`fedau ${kind === 'worker' ? 'worker' : 'run'}\` is using this store`,
      },
    );
  }
  const referenced = new Set<string>();
  const brokenRecords: string[] = [];
  const finished = new Set<string>();
  for (const key of await store.listKeys()) {
    const record = await store.readRecord(key);
    if (!record || record === 'bad') {
      brokenRecords.push(key);
      continue;
    }
    finished.add(key);
    for (const ref of Object.values(record.outputs)) referenced.add(ref.digest);
  }
  const objects = (await store.listObjects()).filter((o) => !referenced.has(o.digest));
  const checkpoints: GcReport['checkpoints'] = [];
  const keptCheckpoints: GcReport['keptCheckpoints'] = [];
  for (const key of await safeReaddir(join(store.root, 'checkpoints'))) {
    const entry = { key, size: await dirSize(join(store.root, 'checkpoints', key)) };
    (finished.has(key) || opts.allCheckpoints ? checkpoints : keptCheckpoints).push(entry);
  }
  const tmp = [];
  for (const name of await safeReaddir(store.tmpDir)) {
    tmp.push({ name, size: (await stat(join(store.tmpDir, name)).catch(() => undefined))?.size ?? 0 });
  }
  if (!dryRun) {
    for (const o of objects) await rm(store.objectPath(o.digest), { force: true });
    for (const key of brokenRecords) await store.deleteRecord(key);
    for (const c of checkpoints) await rm(join(store.root, 'checkpoints', c.key), { recursive: true, force: true });
    for (const t of tmp) await rm(join(store.tmpDir, t.name), { recursive: true, force: true });
  }
  const bytes = [...objects, ...checkpoints, ...tmp].reduce((sum, x) => sum + x.size, 0);
  return {
    kind,
    staleLocks,
    objects: objects.map(({ digest, size }) => ({ digest, size })),
    brokenRecords,
    checkpoints,
    tmp,
    keptCheckpoints,
    bytes,
    dryRun,
  };
}

async function dirSize(dir: string): Promise<number> {
  let total = 0;
  for (const entry of await readdir(dir, { withFileTypes: true }).catch(() => [])) {
    const path = join(dir, entry.name);
    total += entry.isDirectory() ? await dirSize(path) : ((await stat(path).catch(() => undefined))?.size ?? 0);
  }
  return total;
}
