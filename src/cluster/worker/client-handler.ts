import { type Job, UnrecoverableError } from 'bullmq';
import { clientIndices } from '../../artifacts/partition.ts';
import { headSpecs } from '../../ml/models/model.ts';
import { type ClientResult, decodeJob, encodeResult } from '../../ml/train/job.ts';
import type { RedisBlobs } from '../blobs.ts';
import {
  type ClientJobPayload,
  type ClientJobResult,
  type DroppedJob,
  payloadProblems,
  type WorkerStamp,
} from '../protocol.ts';
import { handBackIfAborted, type JobTracker } from './job-tracking.ts';
import type { TrainerPools } from './thread-pools.ts';

const bytesOf = (a: Float32Array) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
const floatsOf = (b: Uint8Array) => new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));

/** One client's local update of a round: trained on this worker's trainer threads, answered through Redis. */
export function clientHandler(x: {
  stamp: WorkerStamp;
  blobs: RedisBlobs;
  pools: TrainerPools;
  tracker: JobTracker;
  admit(
    job: Job,
    token: string | undefined,
    data: ClientJobPayload,
    what: string,
  ): Promise<{ ok: boolean; reason?: string }>;
}) {
  return async (job: Job, token?: string, signal?: AbortSignal): Promise<ClientJobResult | DroppedJob> => {
    const problems = payloadProblems('client', job.data);
    if (problems.length) {
      throw new UnrecoverableError(`worker ${x.stamp.id} refuses a malformed client job: ${problems.join('; ')}`);
    }
    const p = job.data as ClientJobPayload;
    const what = `client ${p.task.client} of ${p.stage} (round ${p.task.round + 1})`;
    const admitted = await x.admit(job, token, p, what);
    if (!admitted.ok) return { dropped: true, worker: x.stamp.id, reason: admitted.reason ?? 'refused' };
    return x.tracker.track(job, what, async () => {
      await job.updateProgress({ worker: x.stamp.id, step: 0, total: 1 });
      const pool = await x.pools.for(p);
      pool.users++;
      try {
        const tensor = async (digest?: string) => (digest ? floatsOf(await x.blobs.get(digest)) : undefined);
        const encoded = {
          task: p.task,
          weights: (await tensor(p.weights))!,
          head: await tensor(p.head),
          anchor: await tensor(p.anchor),
        };
        const specs = { model: pool.model.specs, head: headSpecs(pool.model) };
        const clientJob = decodeJob(encoded, specs, clientIndices(pool.partition, p.task.client));
        let result: ClientResult;
        try {
          [result] = await pool.runner.run([clientJob], () => undefined, signal);
        } catch (error) {
          return await handBackIfAborted(job, token, signal, error);
        }
        await job.updateProgress({ worker: x.stamp.id, step: 1, total: 1 });
        // Held by the job until the coordinator has read them.
        const holder = `job:${job.id}`;
        const out = encodeResult(result);
        const put = async (a?: Float32Array) => (a ? await x.blobs.put(bytesOf(a), holder) : undefined);
        const [weights, head, forgetSteps] = [await put(out.weights), await put(out.head), await put(out.forgetSteps)];
        return {
          weights: weights!,
          ...(head ? { head } : {}),
          ...(forgetSteps ? { forgetSteps } : {}),
          loss: result.loss,
          steps: result.steps,
          samples: result.samples,
          ms: result.ms,
          worker: x.stamp,
        };
      } finally {
        pool.users--;
        pool.lastUsed = Date.now();
      }
    });
  };
}
