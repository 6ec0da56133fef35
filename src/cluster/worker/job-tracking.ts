import { DelayedError, type Job, UnrecoverableError, WaitingError } from 'bullmq';
import { InterruptedError } from '../../core/errors.ts';
import { BlobError } from '../blobs.ts';
import type { WorkerEvent } from '../worker-events.ts';

/** What a worker is doing now and has done, for its heartbeat, and its view told of each job's start and end. */
export class JobTracker {
  readonly active = new Map<string, string>();
  done = 0;
  private readonly onEvent: (event: WorkerEvent) => void;

  constructor(onEvent: (event: WorkerEvent) => void) {
    this.onEvent = onEvent;
  }

  async track<T>(job: Job, what: string, work: () => Promise<T>): Promise<T> {
    const t0 = performance.now();
    const seconds = () => (performance.now() - t0) / 1000;
    this.active.set(job.id!, what);
    this.onEvent({ type: 'job:start', job: job.id!, what });
    try {
      const result = await work();
      this.done++;
      this.onEvent({ type: 'job:end', job: job.id!, what, seconds: seconds() });
      return result;
    } catch (error) {
      if (!(error instanceof DelayedError || error instanceof WaitingError)) {
        this.onEvent({
          type: 'job:end',
          job: job.id!,
          what,
          seconds: seconds(),
          error: String((error as Error).message),
        });
      }
      // A blob problem is for the coordinator to mend (it sends the blob again with a new job): no retry here.
      if (error instanceof BlobError) throw new UnrecoverableError(error.message);
      throw error;
    } finally {
      this.active.delete(job.id!);
    }
  }
}

/** A job interrupted by a hand-back goes back to the queue at once, for another worker. */
export async function handBackIfAborted(
  job: Job,
  token: string | undefined,
  signal: AbortSignal | undefined,
  error: unknown,
): Promise<never> {
  if (signal?.aborted || error instanceof InterruptedError) {
    await job.moveToWait(token);
    throw new WaitingError();
  }
  throw error;
}
