import { type ConnectionOptions, Queue, QueueEvents } from 'bullmq';
import type { Redis } from 'ioredis';
import { FedauError, InterruptedError } from '../engine/errors.ts';
import type { ArtifactRef, RemoteStages, StageContext, StageDefinition } from '../engine/stage.ts';
import { RedisBlobs } from './blobs.ts';
import { CLIENT_QUEUE, jobIdOf, PREFIX, STAGE_QUEUE } from './names.ts';
import type { Facts, JobProgress, StageJobPayload, StageJobResult } from './protocol.ts';
import { connectRedis, maskUrl, redisOptions, scrub } from './redis.ts';
import { endRun, keepRunAlive, listWorkers, refusals } from './registry.ts';

/** How long a job may go without news from Redis before the run stops waiting: the connection is lost. */
const LOST_AFTER_MS = Number(process.env.FEDAU_REDIS_LOST_MS ?? 10_000);

interface Waiter {
  resolve(value: unknown): void;
  reject(error: unknown): void;
  onProgress?(progress: JobProgress): void;
  description: string;
}

/**
 * The coordinator's side of a cluster (`fedau run --redis`): it puts jobs on the queues, moves their inputs and
 * results through Redis by digest, waits for them, keeps its run alive, and stops with a clear error when Redis goes
 * away or when no connected worker can run its jobs.
 */
export class Coordinator {
  readonly label: string;
  readonly blobs: RedisBlobs;
  readonly redis: Redis;
  private readonly url: string;
  private readonly queues: Record<string, Queue>;
  private readonly events: QueueEvents[];
  private readonly waiters = new Map<string, Waiter>();
  private readonly warned = new Set<string>();
  private timer?: NodeJS.Timeout;
  private lostSince?: number;
  private lost?: FedauError;
  private readonly lostListeners = new Set<(error: FedauError) => void>();
  private runId?: string;
  private facts?: Facts;
  log: (level: 'info' | 'warn', text: string) => void = () => undefined;

  private constructor(url: string, redis: Redis) {
    this.url = url;
    this.label = maskUrl(url);
    this.redis = redis;
    this.blobs = new RedisBlobs(redis);
    // BullMQ opens its own connections (blocking reads need one each) from the same options.
    const connection = redisOptions(url) as ConnectionOptions;
    this.queues = {
      [CLIENT_QUEUE]: new Queue(CLIENT_QUEUE, { connection, prefix: PREFIX }),
      [STAGE_QUEUE]: new Queue(STAGE_QUEUE, { connection, prefix: PREFIX }),
    };
    this.events = [CLIENT_QUEUE, STAGE_QUEUE].map((name) =>
      this.listen(new QueueEvents(name, { connection, prefix: PREFIX })),
    );
    // A dropped connection shows up on every object; the watchdog reports it once, as a lost connection.
    for (const queue of Object.values(this.queues)) queue.on('error', () => undefined);
    redis.on('error', () => undefined);
    redis.on('close', () => {
      this.lostSince ??= Date.now();
    });
    redis.on('ready', () => {
      this.lostSince = undefined;
      this.lost = undefined;
    });
  }

  /** Connects (or fails within seconds, saying where and why). */
  static async open(url: string): Promise<Coordinator> {
    const redis = await connectRedis(url, { name: 'fedau-coordinator' });
    const coordinator = new Coordinator(url, redis);
    await Promise.all(coordinator.events.map((e) => e.waitUntilReady()));
    return coordinator;
  }

  /** Starts a run: keeps it alive in Redis, and watches the connection, the refusals and the connected workers. */
  async startRun(runId: string, facts: Facts): Promise<void> {
    this.runId = runId;
    this.facts = facts;
    await keepRunAlive(this.redis, runId, 15);
    const workers = await listWorkers(this.redis);
    if (!workers.length) {
      this.log(
        'warn',
        `no fedau worker is connected to ${this.label} yet: start one with \`fedau worker --redis <url>\``,
      );
    } else {
      this.log(
        'info',
        `${workers.length} worker${workers.length === 1 ? '' : 's'} connected: ${workers.map((w) => w.id).join(', ')}`,
      );
    }
    this.timer = setInterval(() => void this.watch(), 1000);
    this.timer.unref();
  }

  /** A job's result, once a worker has done it; rejects when it failed, when aborted, or when Redis is lost. */
  async submit<T>(
    queue: typeof CLIENT_QUEUE | typeof STAGE_QUEUE,
    jobId: string,
    data: object,
    opts: { description: string; signal?: AbortSignal; onProgress?: (p: JobProgress) => void },
  ): Promise<T> {
    const done = new Promise<T>((resolve, reject) => {
      this.waiters.set(jobId, {
        resolve: resolve as (v: unknown) => void,
        reject,
        onProgress: opts.onProgress,
        description: opts.description,
      });
    });
    // The watchdog or an abort may settle the job while it is still being added; the add's own failure is then
    // the one thrown, and this rejection must not go unhandled (that would end the process).
    done.catch(() => undefined);
    const onAbort = () => this.settle(jobId, new InterruptedError());
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    try {
      await this.guard(
        this.queues[queue].add(queue, data, {
          jobId,
          removeOnComplete: true,
          removeOnFail: true,
          // A job whose worker died is retried elsewhere by BullMQ's stalled-job recovery; a job that throws is
          // retried twice (a worker that ran out of memory, say) before the run gives up on it.
          attempts: 3,
        }),
      );
      return await done;
    } finally {
      opts.signal?.removeEventListener('abort', onAbort);
      this.waiters.delete(jobId);
    }
  }

  /**
   * Redis commands wait for the connection to come back; a run must not wait forever: once the connection is
   * declared lost, every guarded operation fails with the reason.
   */
  guard<T>(operation: Promise<T>): Promise<T> {
    if (this.lost) return Promise.reject(this.lost);
    let listener: ((error: FedauError) => void) | undefined;
    const lost = new Promise<never>((_, reject) => {
      listener = reject;
      this.lostListeners.add(reject);
    });
    return Promise.race([operation, lost]).finally(() => this.lostListeners.delete(listener!));
  }

  /** Whole stages: the executor hands stages that declare `remote` to the workers. */
  stageRunner(): RemoteStages {
    return {
      accepts: (def: StageDefinition) => def.remote === true,
      run: async (stage, ctx: StageContext) => {
        const inputs: Record<string, ArtifactRef> = {};
        for (const [name, ref] of Object.entries(ctx.inputs)) {
          await this.guard(this.blobs.put(await ctx.readArtifact(ref), ref.digest));
          inputs[name] = ref;
        }
        const payload: StageJobPayload = {
          v: 1,
          runId: ctx.runId,
          stage: stage.id,
          kind: stage.kind,
          params: stage.params,
          seed: stage.seed,
          key: ctx.key,
          facts: this.facts!,
          inputs,
        };
        const result = await this.submit<StageJobResult>(STAGE_QUEUE, jobIdOf(ctx.runId, ctx.key, 'stage'), payload, {
          description: `stage ${stage.id}`,
          signal: ctx.signal,
          onProgress: (p) =>
            ctx.progress({ step: p.step, total: p.total, label: `${p.label ?? ''} · on ${p.worker}`.trim() }),
        });
        const outputs: Record<string, ArtifactRef> = {};
        for (const [name, ref] of Object.entries(result.outputs)) {
          outputs[name] = await ctx.writeArtifact(ref.kind, await this.guard(this.blobs.get(ref.digest)), ref.meta);
        }
        await this.guard(this.blobs.delete(Object.values(result.outputs).map((r) => r.digest)));
        ctx.log('info', `ran on worker ${result.worker}`);
        return outputs;
      },
    };
  }

  /** Closes the connections; with Redis gone, it does not wait for it (a graceful close would wait forever). */
  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    const all = [...Object.values(this.queues), ...this.events];
    const graceful = (async () => {
      if (this.runId) await endRun(this.redis, this.runId);
      await Promise.all(all.map((x) => x.close()));
    })().catch(() => undefined);
    const closed = await Promise.race([graceful.then(() => true), sleep(this.lostSince === undefined ? 5000 : 0)]);
    if (!closed) await Promise.race([Promise.all(all.map((x) => x.disconnect().catch(() => undefined))), sleep(1000)]);
    this.redis.disconnect();
  }

  private listen(events: QueueEvents): QueueEvents {
    events.on('completed', ({ jobId, returnvalue }) => this.settle(jobId, undefined, returnvalue));
    events.on('failed', ({ jobId, failedReason }) => {
      const waiter = this.waiters.get(jobId);
      if (!waiter) return;
      this.settle(
        jobId,
        new FedauError('FEDAU_STAGE_FAILED', `${waiter.description} failed on a worker: ${failedReason}`),
      );
    });
    events.on('progress', ({ jobId, data }) => this.waiters.get(jobId)?.onProgress?.(data as JobProgress));
    // Errors of the event stream show up as a lost connection, which the watchdog reports.
    events.on('error', () => undefined);
    return events;
  }

  private settle(jobId: string, error?: unknown, value?: unknown): void {
    const waiter = this.waiters.get(jobId);
    if (!waiter) return;
    this.waiters.delete(jobId);
    if (error) waiter.reject(error);
    else waiter.resolve(typeof value === 'string' ? JSON.parse(value) : value);
  }

  /** Every second: keep the run alive, notice a lost connection, and tell refusals. */
  private async watch(): Promise<void> {
    if (this.lostSince !== undefined && Date.now() - this.lostSince > LOST_AFTER_MS) {
      this.lost ??= new FedauError(
        'FEDAU_REDIS',
        `lost the connection to Redis at ${this.label} in the middle of the run`,
        {
          hint: 'the checkpoint of the last finished round is kept: rerun the pipeline once Redis is back to resume',
        },
      );
      for (const id of [...this.waiters.keys()]) this.settle(id, this.lost);
      for (const listener of [...this.lostListeners]) listener(this.lost);
      return;
    }
    if (this.lostSince !== undefined || !this.runId) return;
    try {
      await keepRunAlive(this.redis, this.runId, 15);
      if (this.waiters.size) await this.checkRefusals();
    } catch {
      // the connection is going; the watchdog above will say so
    }
  }

  /**
   * A worker whose facts differ from ours refuses our jobs. With another worker able to take them, that is worth a
   * warning; with none, the jobs would wait forever, so they fail with every refusal in the message.
   */
  private async checkRefusals(): Promise<void> {
    const refused = await refusals(this.redis, this.runId!);
    const entries = Object.entries(refused);
    if (!entries.length) return;
    for (const [worker, why] of entries) {
      if (this.warned.has(worker)) continue;
      this.warned.add(worker);
      this.log('warn', `worker ${worker} refused this run's jobs: ${why}`);
    }
    const workers = await listWorkers(this.redis);
    const able = workers.filter((w) => !refused[w.id]);
    if (able.length) return;
    const error = new FedauError(
      'FEDAU_STAGE_FAILED',
      `no connected worker can run this run's jobs: ${entries.map(([w, why]) => `worker ${w}: ${why}`).join('; ')}`,
      { hint: 'start workers with the same fedau version, tfjs version and backend (fedau worker --backend ...)' },
    );
    for (const id of [...this.waiters.keys()]) this.settle(id, error);
  }

  /** A message of a library, with the URL's password scrubbed. */
  scrub(text: string): string {
    return scrub(text, this.url);
  }
}

const sleep = (ms: number) => new Promise<false>((resolve) => setTimeout(() => resolve(false), ms).unref());
