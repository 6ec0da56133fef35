import type { Redis } from 'ioredis';
import type { Facts } from './protocol.ts';

/** What a worker tells the cluster about itself, refreshed every few seconds while it lives. */
export interface WorkerInfo {
  id: string;
  host: string;
  pid: number;
  facts: Facts;
  concurrency: number;
  startedAt: string;
  /** What it is doing now: `client 3 of train[seed=0] (round 5)`, ... */
  jobs: string[];
  done: number;
}

const WORKER_KEY = (id: string) => `fedau:workers:${id}`;
/** A worker that has not refreshed its entry for this long is gone. */
export const WORKER_TTL_SECONDS = 15;

export async function announceWorker(redis: Redis, info: WorkerInfo): Promise<void> {
  await redis.set(WORKER_KEY(info.id), JSON.stringify(info), 'EX', WORKER_TTL_SECONDS);
}

export async function retireWorker(redis: Redis, id: string): Promise<void> {
  await redis.del(WORKER_KEY(id));
}

/** The live workers, by id. */
export async function listWorkers(redis: Redis): Promise<WorkerInfo[]> {
  const keys: string[] = [];
  let cursor = '0';
  do {
    const [next, found] = await redis.scan(cursor, 'MATCH', WORKER_KEY('*'), 'COUNT', 100);
    cursor = next;
    keys.push(...found);
  } while (cursor !== '0');
  if (!keys.length) return [];
  const values = await redis.mget(...keys);
  return values
    .filter((v): v is string => v !== null)
    .map((v) => JSON.parse(v) as WorkerInfo)
    .sort((a, b) => a.id.localeCompare(b.id));
}

const RUN_KEY = (runId: string) => `fedau:run:${runId}`;
const REFUSALS_KEY = (runId: string) => `fedau:refusals:${runId}`;
const BANS_KEY = (runId: string) => `fedau:bans:${runId}`;

/**
 * A coordinator keeps its run alive in Redis; a worker drops a job whose run is gone (its coordinator was killed),
 * so the jobs of a dead run never mix into a new one.
 */
export async function keepRunAlive(redis: Redis, runId: string, ttlSeconds: number): Promise<void> {
  await redis.set(RUN_KEY(runId), '1', 'EX', ttlSeconds);
}

export async function runIsAlive(redis: Redis, runId: string): Promise<boolean> {
  return (await redis.exists(RUN_KEY(runId))) === 1;
}

export async function endRun(redis: Redis, runId: string): Promise<void> {
  await redis.del(RUN_KEY(runId), REFUSALS_KEY(runId), BANS_KEY(runId));
}

/**
 * A worker whose answer differed from the coordinator's own computation is banned from the run: an honest worker
 * on a broken machine then stops taking its jobs, and whatever any banned worker still answers is not used.
 */
export async function ban(redis: Redis, runId: string, workerId: string, reason: string): Promise<void> {
  await redis.hset(BANS_KEY(runId), workerId, reason);
  await redis.expire(BANS_KEY(runId), 24 * 3600);
}

export async function banReason(redis: Redis, runId: string, workerId: string): Promise<string | null> {
  return redis.hget(BANS_KEY(runId), workerId);
}

/** A worker that will not run a run's jobs says why, so the coordinator can tell the user. */
export async function refuse(redis: Redis, runId: string, workerId: string, reason: string): Promise<void> {
  await redis.hset(REFUSALS_KEY(runId), workerId, reason);
  await redis.expire(REFUSALS_KEY(runId), 24 * 3600);
}

export async function refusals(redis: Redis, runId: string): Promise<Record<string, string>> {
  return redis.hgetall(REFUSALS_KEY(runId));
}
