import type { Job } from 'bullmq';
import type { JobProgress, QueueName } from '../protocol.ts';

/** A job as the coordinator submits it, again as often as it is lost. */
export interface JobSpec<T> {
  queue: QueueName;
  /** Unique in the run; a job submitted again gets `-a<n>` appended. */
  jobId: string;
  description: string;
  signal?: AbortSignal;
  onProgress?: (p: JobProgress) => void;
  /** Puts the job's inputs into Redis (again, after a loss) and returns its payload. */
  prepare(jobId: string): Promise<object>;
  /** Turns the worker's answer into the result, reading its blobs; a blob gone or damaged submits the job again. */
  collect(answer: unknown, jobId: string): Promise<T>;
}

/** How one submission of a job ended. `lost`: Redis no longer has it (restarted or flushed). */
export type Outcome =
  | { kind: 'done'; answer: unknown }
  | { kind: 'failed'; reason: string }
  | { kind: 'lost' }
  | { kind: 'error'; error: unknown };

interface Waiter {
  queue: QueueName;
  description: string;
  since: number;
  polled: number;
  resolve(outcome: Outcome): void;
  onProgress?(progress: JobProgress): void;
}

/** How long after submission a job is first looked up, and then how often. */
const POLL_MS = 2000;

/**
 * The jobs a coordinator waits for. Their outcome comes from BullMQ's events when they arrive, and from polling
 * Redis otherwise: an event missed while the connection was down is not a job waited for forever, and a job that
 * Redis lost is noticed as lost.
 */
export class JobWaiters {
  private readonly waiters = new Map<string, Waiter>();
  private readonly getJob: (queue: QueueName, id: string) => Promise<Job | undefined>;

  constructor(getJob: (queue: QueueName, id: string) => Promise<Job | undefined>) {
    this.getJob = getJob;
  }

  get size(): number {
    return this.waiters.size;
  }

  /** The queues that jobs are waiting in. */
  queues(): Set<QueueName> {
    return new Set([...this.waiters.values()].map((w) => w.queue));
  }

  add(queue: QueueName, id: string, description: string, onProgress?: (p: JobProgress) => void): Promise<Outcome> {
    return new Promise<Outcome>((resolve) => {
      this.waiters.set(id, { queue, description, since: Date.now(), polled: 0, resolve, onProgress });
    });
  }

  settle(id: string, outcome: Outcome): void {
    const waiter = this.waiters.get(id);
    if (!waiter) return;
    this.waiters.delete(id);
    if (outcome.kind === 'done' && typeof outcome.answer === 'string') {
      try {
        waiter.resolve({ kind: 'done', answer: JSON.parse(outcome.answer) });
        return;
      } catch {
        // not JSON: passed on as it is
      }
    }
    waiter.resolve(outcome);
  }

  progress(id: string, data: JobProgress): void {
    this.waiters.get(id)?.onProgress?.(data);
  }

  forget(id: string): void {
    this.waiters.delete(id);
  }

  failAll(error: unknown): void {
    for (const id of [...this.waiters.keys()]) this.settle(id, { kind: 'error', error });
  }

  /** Looks each job up in Redis (every POLL_MS): gone, finished or failed without an event we heard. */
  async poll(): Promise<void> {
    const now = Date.now();
    for (const [id, w] of [...this.waiters]) {
      if (now - Math.max(w.since, w.polled) < POLL_MS) continue;
      w.polled = now;
      const job = await this.getJob(w.queue, id);
      if (!this.waiters.has(id)) continue;
      if (!job) {
        this.settle(id, { kind: 'lost' });
        continue;
      }
      const state = await job.getState();
      if (state === 'completed') this.settle(id, { kind: 'done', answer: job.returnvalue });
      else if (state === 'failed') this.settle(id, { kind: 'failed', reason: job.failedReason });
      else if (state === 'unknown') this.settle(id, { kind: 'lost' });
    }
  }
}
