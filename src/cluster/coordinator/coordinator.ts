import { type ConnectionOptions, Queue, QueueEvents } from 'bullmq';
import type { Redis } from 'ioredis';
import { FedauError, InterruptedError } from '../../core/errors.ts';
import { BLOB_PROBLEM, BlobError, RedisBlobs } from '../blobs.ts';
import {
  CLIENT_QUEUE,
  type DroppedJob,
  type Facts,
  type JobProgress,
  PREFIX,
  type QueueName,
  STAGE_QUEUE,
} from '../protocol.ts';
import { connectRedis, maskUrl, redisOptions } from '../redis.ts';
import { ban, endRun, keepRunAlive, listWorkers } from '../registry.ts';
import { type JobSpec, JobWaiters, type Outcome } from './job-waiters.ts';

export type { JobSpec } from './job-waiters.ts';

import { WorkerCheck } from './worker-check.ts';

/** How long Redis may be unreachable before the run stops waiting for it. */
const LOST_AFTER_MS = () => Number(process.env.FEDAU_REDIS_LOST_MS ?? 10_000);
/**
 * How long the run stays alive in Redis without this process renewing it: workers drop the jobs of a run whose
 * coordinator is gone. A coordinator that stalls longer (paused, swapped out) has its jobs dropped and resubmits them.
 */
const RUN_TTL_S = () => Math.max(2, Math.round(Number(process.env.FEDAU_RUN_TTL_MS ?? 15_000) / 1000));
/** How often a job is submitted again (lost with Redis, dropped, its blobs gone) before the run gives up. */
const MAX_ATTEMPTS = 12;

/**
 * The coordinator's side of a cluster (`fedau run --redis`): it puts jobs on the queues, moves their inputs and
 * results through Redis by digest, waits for them, keeps its run alive, and never waits forever. A job lost with
 * Redis (restarted or flushed), dropped by a worker that thought the run gone, or whose blobs vanished is submitted
 * again; Redis unreachable for long, or no worker alive for long, ends the wait with a clear error.
 */
export class Coordinator {
  readonly label: string;
  readonly blobs: RedisBlobs;
  readonly redis: Redis;
  private readonly queues: Record<QueueName, Queue>;
  private readonly events: QueueEvents[];
  private readonly waiters: JobWaiters;
  private readonly workerCheck: WorkerCheck;
  private timer?: NodeJS.Timeout;
  private lostSince?: number;
  private lost?: FedauError;
  private readonly lostListeners = new Set<(error: FedauError) => void>();
  private runId?: string;
  facts?: Facts;
  /** Workers banned from this run (their answers differed from this process's own computation), with why. */
  readonly banned = new Map<string, string>();
  log: (level: 'info' | 'warn', text: string) => void = () => undefined;

  private constructor(url: string, redis: Redis) {
    this.label = maskUrl(url);
    this.redis = redis;
    this.blobs = new RedisBlobs(redis);
    // BullMQ opens its own connections (blocking reads need one each) from the same options.
    const connection = redisOptions(url) as ConnectionOptions;
    this.queues = {
      [CLIENT_QUEUE]: new Queue(CLIENT_QUEUE, { connection, prefix: PREFIX }),
      [STAGE_QUEUE]: new Queue(STAGE_QUEUE, { connection, prefix: PREFIX }),
    };
    this.waiters = new JobWaiters((queue, id) => this.queues[queue].getJob(id));
    this.workerCheck = new WorkerCheck({
      redis,
      label: this.label,
      banned: this.banned,
      listeners: (queue) => this.queues[queue].getWorkersCount(),
      log: (level, text) => this.log(level, text),
    });
    this.events = [CLIENT_QUEUE, STAGE_QUEUE].map((name) => {
      const events = new QueueEvents(name, { connection, prefix: PREFIX });
      events.on('completed', ({ jobId, returnvalue }) =>
        this.waiters.settle(jobId, { kind: 'done', answer: returnvalue }),
      );
      events.on('failed', ({ jobId, failedReason }) =>
        this.waiters.settle(jobId, { kind: 'failed', reason: failedReason }),
      );
      events.on('progress', ({ jobId, data }) => this.waiters.progress(jobId, data as JobProgress));
      // Errors of the event stream show up as a lost connection, which the watchdog reports.
      events.on('error', () => undefined);
      return events;
    });
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

  private readonly runBlobs = new Set<string>();

  /** Puts a blob the whole run may need again (the data, a stage's inputs): held until the run ends. */
  async putForRun(bytes: Uint8Array, digest: string): Promise<string> {
    this.runBlobs.add(digest);
    return this.guard(this.blobs.put(bytes, `run:${this.runId}`, digest));
  }

  /** Starts a run: keeps it alive in Redis, and watches the connection, the workers and the jobs. */
  async startRun(runId: string, facts: Facts): Promise<void> {
    this.runId = runId;
    this.facts = facts;
    await keepRunAlive(this.redis, runId, RUN_TTL_S());
    const workers = await listWorkers(this.redis);
    if (!workers.length) {
      this.log(
        'warn',
        `no fedau worker is connected to ${this.label} yet: start one with \`fedau worker --redis <url>\``,
      );
    } else {
      const names = workers.map((w) => w.id).join(', ');
      this.log('info', `${workers.length} worker${workers.length === 1 ? '' : 's'} connected: ${names}`);
    }
    this.timer = setInterval(() => void this.watch(), 1000);
    this.timer.unref();
  }

  /**
   * A job's result, once a worker has done it: submitted again as often as it is lost (Redis restarted or flushed,
   * dropped, its blobs gone); rejects when it fails on a worker, when aborted, or when Redis or the workers are gone
   * for too long.
   */
  async job<T>(spec: JobSpec<T>): Promise<T> {
    let why = '';
    for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
      if (spec.signal?.aborted) throw new InterruptedError();
      const jobId = attempt === 1 ? spec.jobId : `${spec.jobId}-a${attempt}`;
      if (attempt > 1) {
        this.log('warn', `${spec.description}: ${why}; submitting it again (attempt ${attempt})`);
        // Whatever lost the job (a restarted Redis, a stall that let the run expire) may still be settling: the run
        // is made alive again at once, and attempts are spaced out (0.25 s, doubling, at most 4 s).
        await this.guard(keepRunAlive(this.redis, this.runId!, RUN_TTL_S()));
        await sleep(Math.min(250 * 2 ** (attempt - 2), 4000));
      }
      const payload = await this.guard(spec.prepare(jobId)).catch((error) => this.retryOnBlob(error));
      if (payload === undefined) {
        why = 'one of its inputs could not be uploaded';
        continue;
      }
      const outcome = await this.once(spec, jobId, payload);
      if (outcome.kind === 'lost') {
        why = 'the job was lost from Redis (restarted or flushed?)';
        continue;
      }
      if (outcome.kind === 'failed') {
        if (!BLOB_PROBLEM.test(outcome.reason)) {
          throw new FedauError('FEDAU_STAGE_FAILED', `${spec.description} failed on a worker: ${outcome.reason}`);
        }
        why = `a worker could not read its inputs (${BLOB_PROBLEM.exec(outcome.reason)![0]})`;
        continue;
      }
      const dropped = outcome.answer as Partial<DroppedJob>;
      if (dropped?.dropped) {
        why = `worker ${dropped.worker} dropped it (${dropped.reason})`;
        continue;
      }
      try {
        return await this.guard(spec.collect(outcome.answer, jobId));
      } catch (error) {
        if (!(error instanceof BlobError)) throw error;
        why = `its result could not be read (${error.message})`;
      } finally {
        void this.queues[spec.queue].remove(jobId).catch(() => undefined);
      }
    }
    throw new FedauError('FEDAU_STAGE_FAILED', `${spec.description}: gave up after ${MAX_ATTEMPTS} attempts: ${why}`, {
      hint: 'check that Redis keeps its data (see the README, "Running on several machines") and rerun: it resumes',
    });
  }

  private retryOnBlob(error: unknown): undefined {
    if (error instanceof BlobError) return undefined;
    throw error;
  }

  /** One submission of a job: its outcome, whichever of the events, the poller or the watchdog tells it first. */
  private async once(
    spec: JobSpec<unknown>,
    jobId: string,
    payload: object,
  ): Promise<Exclude<Outcome, { kind: 'error' }>> {
    const outcome = this.waiters.add(spec.queue, jobId, spec.description, spec.onProgress);
    const onAbort = () => this.waiters.settle(jobId, { kind: 'error', error: new InterruptedError() });
    spec.signal?.addEventListener('abort', onAbort, { once: true });
    try {
      await this.guard(
        this.queues[spec.queue].add(spec.queue, payload, {
          jobId,
          // Kept a while after it ends so that the poller can read an answer whose event was missed; removed by
          // the coordinator once read.
          removeOnComplete: { age: 3600 },
          removeOnFail: { age: 3600 },
          // A job that throws is retried once more by BullMQ (a worker that ran out of memory, say); a job whose
          // worker died is retried elsewhere by BullMQ's stalled-job recovery.
          attempts: 2,
        }),
      ).catch((error) => this.waiters.settle(jobId, { kind: 'error', error }));
      const result = await outcome;
      if (result.kind === 'error') throw result.error;
      return result;
    } finally {
      spec.signal?.removeEventListener('abort', onAbort);
      this.waiters.forget(jobId);
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

  /** Bans a worker from this run: its jobs are refused by it (if honest) and its answers no longer used. */
  async ban(worker: string, reason: string): Promise<void> {
    if (this.banned.has(worker)) return;
    this.banned.set(worker, reason);
    this.log('warn', `worker ${worker} is banned from this run: ${reason}`);
    await this.guard(ban(this.redis, this.runId!, worker, reason)).catch(() => undefined);
  }

  /** Ends the run: its blobs are released (deleted unless another run holds them) and its keys removed. */
  async endRun(): Promise<void> {
    if (!this.runId || this.lostSince !== undefined) return;
    await this.blobs.release(this.runBlobs, `run:${this.runId}`);
    await endRun(this.redis, this.runId);
  }

  /** Closes the connections; with Redis gone, it does not wait for it (a graceful close would wait forever). */
  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    const all = [...Object.values(this.queues), ...this.events];
    const graceful = (async () => {
      await this.endRun();
      await Promise.all(all.map((x) => x.close()));
    })().catch(() => undefined);
    const closed = await Promise.race([graceful.then(() => true), sleep(this.lostSince === undefined ? 5000 : 0)]);
    if (!closed) await Promise.race([Promise.all(all.map((x) => x.disconnect().catch(() => undefined))), sleep(1000)]);
    this.redis.disconnect();
  }

  /** Every second: notice a lost connection, keep the run alive, find lost or finished jobs, tell refusals. */
  private async watch(): Promise<void> {
    if (this.lostSince !== undefined && Date.now() - this.lostSince > LOST_AFTER_MS()) {
      this.lost ??= new FedauError(
        'FEDAU_REDIS',
        `lost the connection to Redis at ${this.label} in the middle of the run`,
        {
          hint: 'the checkpoint of the last finished round is kept: rerun the pipeline once Redis is back to resume',
        },
      );
      this.waiters.failAll(this.lost);
      for (const listener of [...this.lostListeners]) listener(this.lost);
      return;
    }
    if (this.lostSince !== undefined || !this.runId) return;
    try {
      await keepRunAlive(this.redis, this.runId, RUN_TTL_S());
      if (!this.waiters.size) return this.workerCheck.reset();
      await this.waiters.poll();
      const verdict = await this.workerCheck.check(this.runId, this.waiters.queues());
      if (verdict) this.waiters.failAll(verdict);
    } catch {
      // the connection is going; the watchdog above will say so
    }
  }
}

const sleep = (ms: number) => new Promise<false>((resolve) => setTimeout(() => resolve(false), ms).unref());
