import { type ConnectionOptions, Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { RedisBlobs } from './blobs.ts';
import { CLIENT_QUEUE, PREFIX, STAGE_QUEUE } from './protocol.ts';
import { redisOptions } from './redis.ts';
import { runIsAlive } from './registry.ts';

export interface RedisGcReport {
  /** Blobs deleted: no live run holds them any more. */
  blobs: number;
  bytes: number;
  /** Holders dropped from blobs that another live holder keeps. */
  holders: number;
  /** Keys of runs that are over (refusals, bans). */
  runKeys: number;
  /** Finished or orphaned jobs removed from the queues. */
  jobs: number;
  dryRun: boolean;
}

async function scan(redis: Redis, pattern: string): Promise<string[]> {
  const keys: string[] = [];
  let cursor = '0';
  do {
    const [next, found] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 500);
    cursor = next;
    keys.push(...found);
  } while (cursor !== '0');
  return keys;
}

/** The run a holder or a job id belongs to: `run:<id>`, `round:<id>:...`, `job:<id>-<key>-...`. */
export function runOfHolder(holder: string): string | undefined {
  const m = /^(?:run|round):([^:]+)/.exec(holder) ?? /^job:(\d{8}T\d{6}Z-[0-9a-f]+)-/.exec(holder);
  return m?.[1];
}

/**
 * Cleans a Redis of what no live run needs: blobs whose holders all belong to runs that are over (a killed
 * coordinator's data, rounds and answers), blobs of versions before holders existed, the refusals and bans of runs
 * that are over, and finished jobs. A live run's blobs and jobs are never touched.
 */
export async function collectRedisGarbage(redis: Redis, url: string, dryRun = false): Promise<RedisGcReport> {
  const report: RedisGcReport = { blobs: 0, bytes: 0, holders: 0, runKeys: 0, jobs: 0, dryRun };
  const alive = new Map<string, boolean>();
  const isAlive = async (runId: string) => {
    if (!alive.has(runId)) alive.set(runId, await runIsAlive(redis, runId));
    return alive.get(runId)!;
  };
  for (const meta of await scan(redis, 'fedau:blob:*')) {
    if (!/^fedau:blob:[0-9a-f]{64}$/.test(meta)) continue;
    const digest = meta.slice('fedau:blob:'.length);
    const holders = await redis.smembers(RedisBlobs.refsKey(digest));
    const dead = [];
    for (const h of holders) {
      const run = runOfHolder(h);
      if (!run || !(await isAlive(run))) dead.push(h);
    }
    if (dead.length < holders.length) {
      report.holders += dead.length;
      if (!dryRun && dead.length) await redis.srem(RedisBlobs.refsKey(digest), ...dead);
      continue;
    }
    const info = JSON.parse((await redis.get(meta)) ?? '{"size":0,"chunks":0}') as { size: number; chunks: number };
    report.blobs++;
    report.bytes += info.size;
    if (!dryRun) {
      const chunks = Array.from({ length: info.chunks }, (_, i) => `${meta}:${i}`);
      await redis.del(meta, RedisBlobs.refsKey(digest), ...chunks);
    }
  }
  for (const key of [...(await scan(redis, 'fedau:refusals:*')), ...(await scan(redis, 'fedau:bans:*'))]) {
    if (await isAlive(key.split(':').slice(2).join(':'))) continue;
    report.runKeys++;
    if (!dryRun) await redis.del(key);
  }
  report.jobs = await cleanQueues(url, isAlive, dryRun);
  return report;
}

/** Finished jobs, and waiting ones whose run is over, leave the queues. */
async function cleanQueues(url: string, isAlive: (run: string) => Promise<boolean>, dryRun: boolean): Promise<number> {
  let removed = 0;
  for (const name of [CLIENT_QUEUE, STAGE_QUEUE]) {
    const queue = new Queue(name, { connection: redisOptions(url) as ConnectionOptions, prefix: PREFIX });
    try {
      const jobs = await queue.getJobs(['completed', 'failed', 'waiting', 'delayed', 'prioritized']);
      for (const job of jobs) {
        const run = job?.id ? runOfHolder(`job:${job.id}`) : undefined;
        if (!job || (run && (await isAlive(run)))) continue;
        removed++;
        if (!dryRun) await job.remove().catch(() => undefined);
      }
    } finally {
      await queue.close();
    }
  }
  return removed;
}
