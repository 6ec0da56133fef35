import { type Job, UnrecoverableError } from 'bullmq';
import { clientIndices } from '../../artifacts/partition.ts';
import { headSpecs } from '../../ml/models/model.ts';
import { flattenWeights, unflattenWeights } from '../../ml/models/params.ts';
import type { ClientJob, ClientResult } from '../../ml/train/client-train.ts';
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
    const what = `client ${p.client} of ${p.stage} (round ${p.round + 1})`;
    const admitted = await x.admit(job, token, p, what);
    if (!admitted.ok) return { dropped: true, worker: x.stamp.id, reason: admitted.reason ?? 'refused' };
    return x.tracker.track(job, what, async () => {
      await job.updateProgress({ worker: x.stamp.id, step: 0, total: 1 });
      const pool = await x.pools.for(p);
      pool.users++;
      try {
        const clientJob: ClientJob = {
          round: p.round,
          client: p.client,
          weights: unflattenWeights(floatsOf(await x.blobs.get(p.weights)), pool.model.specs),
          head: p.head ? unflattenWeights(floatsOf(await x.blobs.get(p.head)), headSpecs(pool.model)) : undefined,
          indices: clientIndices(pool.partition, p.client),
          lr: p.lr,
          recipe: p.recipe,
          dropForget: p.dropForget,
        };
        let result: ClientResult;
        try {
          [result] = await pool.runner.run([clientJob], () => undefined, signal);
        } catch (error) {
          return await handBackIfAborted(job, token, signal, error);
        }
        await job.updateProgress({ worker: x.stamp.id, step: 1, total: 1 });
        // Held by the job until the coordinator has read them.
        const holder = `job:${job.id}`;
        return {
          weights: await x.blobs.put(bytesOf(flattenWeights(result.weights)), holder),
          ...(result.head ? { head: await x.blobs.put(bytesOf(flattenWeights(result.head)), holder) } : {}),
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
