import { DelayedError, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import { type Facts, factsMismatch } from '../protocol.ts';
import { banReason, refuse, runIsAlive } from '../registry.ts';
import type { WorkerEvent } from '../worker-events.ts';

/**
 * Whether this worker takes a job: its run must be alive (a dead coordinator's jobs are dropped: the answer says
 * so, and a living coordinator submits them again), its facts must be this worker's, and the run must not have
 * banned this worker. A job it must not run goes back to the queue for another worker.
 */
export async function admit(x: {
  redis: Redis;
  workerId: string;
  facts: Facts;
  job: Job;
  token: string | undefined;
  data: { runId: string; facts: Facts };
  what: string;
  onEvent(event: WorkerEvent): void;
}): Promise<{ ok: true } | { ok: false; reason: string }> {
  const { redis, job, data } = x;
  if (!(await runIsAlive(redis, data.runId))) {
    const reason = `its run ${data.runId} is gone (its coordinator stopped or stalled)`;
    x.onEvent({ type: 'dropped', what: x.what, reason });
    return { ok: false, reason };
  }
  const banned = await banReason(redis, data.runId, x.workerId);
  const mismatch = banned ? `this worker is banned from the run: ${banned}` : factsMismatch(x.facts, data.facts);
  if (mismatch) {
    if (!banned) await refuse(redis, data.runId, x.workerId, `its ${mismatch}`);
    x.onEvent({ type: 'refused', what: x.what, reason: mismatch });
    await job.moveToDelayed(Date.now() + 3000, x.token);
    throw new DelayedError();
  }
  return { ok: true };
}
