import { hostname } from 'node:os';
import { type ConnectionOptions, type Job, Worker } from 'bullmq';
import { packageVersion } from '../../core/package-root.ts';
import { LockDir } from '../../engine/locks.ts';
import { ArtifactStore } from '../../engine/store.ts';
import { backendDescription, chooseBackend, kernelsFact, tfjsVersion } from '../../ml/backends/backend.ts';
import { RedisBlobs } from '../blobs.ts';
import { CLIENT_QUEUE, type Facts, PREFIX, STAGE_QUEUE, type WorkerStamp } from '../protocol.ts';
import { connectRedis, maskUrl, redisOptions } from '../redis.ts';
import { announceWorker, retireWorker, type WorkerInfo } from '../registry.ts';
import type { WorkerEvent } from '../worker-events.ts';
import { admit } from './admission.ts';
import { ArtifactCache } from './artifact-cache.ts';
import { clientHandler } from './client-handler.ts';
import { JobTracker } from './job-tracking.ts';
import { stageHandler } from './stage-handler.ts';
import { TrainerPools } from './thread-pools.ts';

export interface WorkerOptions {
  url: string;
  concurrency: number;
  storeRoot: string;
  /** auto | tensorflow | webgpu | wasm | cpu, resolved on this machine. */
  backend: string;
  onEvent(event: WorkerEvent): void;
  /** How long a job's lock lasts without renewal: a killed worker's job is retried elsewhere after this. */
  lockMs?: number;
}

export interface RunningWorker {
  id: string;
  /**
   * Finishes the jobs in hand (or, with `handBack`, returns them to the queue at once), then disconnects. With Redis
   * gone there is nothing to finish them for: it stops at once. A second call while stopping hands the jobs back.
   */
  stop(handBack?: boolean): Promise<void>;
}

/**
 * `fedau worker`: takes client and stage jobs from the queues of a Redis, trains or runs them with its own backend
 * in threads, and answers through Redis. Inputs arrive by digest and stay in the worker's own store. A job is taken
 * only if its run is alive, its facts (fedau, tfjs, backend, kernels) are the worker's and the run has not banned
 * it; its payload is checked against a schema.
 */
/** What makes this worker's results the coordinator's bytes (protocol.ts `Facts`). */
function factsOf(choice: Awaited<ReturnType<typeof chooseBackend>>): Facts {
  return {
    fedau: packageVersion(),
    tfjs: tfjsVersion(),
    backend: backendDescription(choice),
    kernels: kernelsFact(choice),
  };
}

export async function startWorker(opts: WorkerOptions): Promise<RunningWorker> {
  const redis = await connectRedis(opts.url, { name: 'fedau-worker' });
  const choice = await chooseBackend(opts.backend);
  const facts = factsOf(choice);
  const id = `${hostname()}-${process.pid}`;
  const stamp: WorkerStamp = { id, host: hostname(), ...facts };
  const store = new ArtifactStore(opts.storeRoot);
  await store.init('worker');
  // Held while the worker runs: `fedau gc` of this cache refuses to run under it.
  const lease = await new LockDir(opts.storeRoot).acquire(`worker-${id}`, `fedau worker ${id}`);
  const blobs = new RedisBlobs(redis);
  const cache = new ArtifactCache(store, blobs);
  const pools = new TrainerPools({ backend: choice, threads: opts.concurrency, cache });
  const tracker = new JobTracker(opts.onEvent);
  const startedAt = new Date().toISOString();
  const info = (): WorkerInfo => ({
    id,
    host: hostname(),
    pid: process.pid,
    facts,
    concurrency: opts.concurrency,
    startedAt,
    jobs: [...tracker.active.values()],
    done: tracker.done,
  });
  await announceWorker(redis, info());
  const heartbeat = setInterval(() => void announceWorker(redis, info()).catch(() => undefined), 5000);
  const mayTake = (job: Job, token: string | undefined, data: { runId: string; facts: Facts }, what: string) =>
    admit({ redis, workerId: id, facts, job, token, data, what, onEvent: opts.onEvent });

  const connection = redisOptions(opts.url) as ConnectionOptions;
  const lockDuration = opts.lockMs ?? 30_000;
  const common = {
    connection,
    prefix: PREFIX,
    lockDuration,
    stalledInterval: Math.max(1000, Math.floor(lockDuration / 2)),
    // A job whose worker died is moved back once per stall; a few stalls in a row are allowed before it fails.
    maxStalledCount: 5,
  };
  const workers = [
    new Worker(CLIENT_QUEUE, clientHandler({ stamp, blobs, pools, tracker, admit: mayTake }), {
      ...common,
      concurrency: opts.concurrency,
    }),
    new Worker(
      STAGE_QUEUE,
      stageHandler({ stamp, blobs, cache, tracker, backend: opts.backend, threads: opts.concurrency, admit: mayTake }),
      { ...common, concurrency: 1 },
    ),
  ];
  for (const w of workers) w.on('error', () => undefined);
  await Promise.all(workers.map((w) => w.waitUntilReady()));
  opts.onEvent({
    type: 'ready',
    id,
    url: maskUrl(opts.url),
    facts,
    concurrency: opts.concurrency,
    store: opts.storeRoot,
  });

  let stopping: Promise<void> | undefined;
  let handingBack = false;
  const handBack = () => {
    if (handingBack) return;
    handingBack = true;
    for (const w of workers) w.cancelAllJobs('the worker is stopping: handing the job back');
  };
  const stop = async () => {
    const redisGone = () => redis.status !== 'ready';
    const closing = Promise.all(workers.map((w) => w.close(handingBack || redisGone())));
    // Wait for the jobs in hand, unless Redis goes (nothing is left to answer to) or a hand-back is asked for.
    while (!(await Promise.race([closing.then(() => true), sleep(250)]))) {
      if (redisGone() || handingBack) {
        handBack();
        await Promise.race([closing, sleep(2000)]);
        break;
      }
    }
    clearInterval(heartbeat);
    await pools.closeAll();
    if (!redisGone()) await Promise.race([retireWorker(redis, id).catch(() => undefined), sleep(1000)]);
    await lease.release();
    redis.disconnect();
    for (const w of workers) void w.disconnect().catch(() => undefined);
    opts.onEvent({ type: 'stopped' });
  };
  return {
    id,
    stop(wantHandBack = false) {
      opts.onEvent({ type: 'stopping', handBack: wantHandBack || !!stopping });
      if (wantHandBack || stopping) handBack();
      stopping ??= stop();
      return stopping;
    },
  };
}

const sleep = (ms: number) => new Promise<false>((resolve) => setTimeout(() => resolve(false), ms).unref());
