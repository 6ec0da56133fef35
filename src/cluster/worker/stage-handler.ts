import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker as Thread } from 'node:worker_threads';
import { type Job, UnrecoverableError } from 'bullmq';
import { stageRegistry } from '../../../stages/index.ts';
import type { ArtifactKind } from '../../artifacts/kinds.ts';
import { loadSchemas } from '../../config/schemas.ts';
import { FedauError, InterruptedError } from '../../core/errors.ts';
import type { ArtifactRef, StageDefinition } from '../../engine/stage.ts';
import type { RedisBlobs } from '../blobs.ts';
import {
  type DroppedJob,
  payloadProblems,
  type StageJobPayload,
  type StageJobResult,
  WORKER_LIMITS,
  type WorkerStamp,
} from '../protocol.ts';
import type { ArtifactCache } from './artifact-cache.ts';
import { handBackIfAborted, type JobTracker } from './job-tracking.ts';
import type { StageThreadInput, StageThreadMessage } from './stage-thread.ts';

const THREAD_ENTRY = import.meta.url.endsWith('.ts')
  ? new URL('./stage-thread-dev.mjs', import.meta.url)
  : new URL('./stage-thread.js', import.meta.url);

/**
 * A whole stage for a coordinator: only registered kinds that may run remotely, with params checked against the
 * kind's schema (nothing taken from the queue is code or a path). It runs in a thread of its own.
 */
export function stageHandler(x: {
  stamp: WorkerStamp;
  blobs: RedisBlobs;
  cache: ArtifactCache;
  tracker: JobTracker;
  backend: string;
  threads: number;
  admit(
    job: Job,
    token: string | undefined,
    data: StageJobPayload,
    what: string,
  ): Promise<{ ok: boolean; reason?: string }>;
}) {
  const schemas = loadSchemas();
  const thread = new StageThread();
  return async (job: Job, token?: string, signal?: AbortSignal): Promise<StageJobResult | DroppedJob> => {
    const problems = payloadProblems('stage', job.data);
    if (problems.length) {
      throw new UnrecoverableError(`worker ${x.stamp.id} refuses a malformed stage job: ${problems.join('; ')}`);
    }
    const p = job.data as StageJobPayload;
    const def = (stageRegistry as unknown as Record<string, StageDefinition>)[p.kind];
    if (!def?.remote)
      throw new UnrecoverableError(`worker ${x.stamp.id} runs no stage of kind "${p.kind}" for a coordinator`);
    const params = structuredClone(p.params);
    if (!schemas.stages.get(p.kind)!(params)) {
      throw new UnrecoverableError(`worker ${x.stamp.id} refuses stage ${p.stage}: its params do not check`);
    }
    if (typeof params.batchSize === 'number' && params.batchSize > WORKER_LIMITS.stageBatchSize) {
      throw new UnrecoverableError(
        `worker ${x.stamp.id} refuses stage ${p.stage}: batchSize ${params.batchSize} is over its limit of ` +
          `${WORKER_LIMITS.stageBatchSize}`,
      );
    }
    const what = `stage ${p.stage} (${p.kind})`;
    const admitted = await x.admit(job, token, p, what);
    if (!admitted.ok) return { dropped: true, worker: x.stamp.id, reason: admitted.reason ?? 'refused' };
    return x.tracker.track(job, what, async () => {
      for (const ref of Object.values(p.inputs)) await x.cache.bytes(ref.digest, ref.kind as ArtifactKind);
      let outputs: Record<string, ArtifactRef>;
      try {
        outputs = await thread.run(
          {
            storeRoot: x.cache.store.root,
            workDir: join(tmpdir(), 'fedau-worker'),
            backend: x.backend,
            threads: x.threads,
            runId: p.runId,
            stage: p.stage,
            kind: p.kind,
            params,
            seed: p.seed,
            key: p.key,
            inputs: p.inputs as Record<string, ArtifactRef>,
          },
          (m) => {
            if (m.type === 'progress')
              void job.updateProgress({ worker: x.stamp.id, step: m.step, total: m.total ?? 0, label: m.label });
            else if (m.type === 'log') void job.log(m.text);
          },
          signal,
        );
      } catch (error) {
        return await handBackIfAborted(job, token, signal, error);
      }
      // Held by the job until the coordinator has read them.
      for (const ref of Object.values(outputs))
        await x.blobs.put(await x.cache.store.getBytes(ref), `job:${job.id}`, ref.digest);
      return { outputs, worker: x.stamp };
    });
  };
}

/**
 * The worker's stage thread, started on first use and kept for the next stage (its modules and backend stay loaded).
 * An abort (a hand-back) ends it at once; the next stage starts a new one.
 */
class StageThread {
  private thread?: Thread;

  run(
    input: StageThreadInput,
    onMessage: (m: StageThreadMessage) => void,
    signal?: AbortSignal,
  ): Promise<Record<string, ArtifactRef>> {
    this.thread ??= this.start();
    const thread = this.thread;
    return new Promise((resolve, reject) => {
      const end = () => {
        signal?.removeEventListener('abort', onAbort);
        thread.off('message', onReply);
        thread.off('error', onError);
      };
      const onAbort = () => {
        end();
        void this.close();
        reject(new InterruptedError());
      };
      const onReply = (m: StageThreadMessage) => {
        if (m.type !== 'done' && m.type !== 'error') return onMessage(m);
        end();
        if (m.type === 'done') resolve(m.outputs);
        else reject(new FedauError('FEDAU_STAGE_FAILED', m.error.message));
      };
      const onError = (error: Error) => {
        end();
        this.thread = undefined;
        reject(error);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      thread.on('message', onReply);
      thread.on('error', onError);
      thread.postMessage(input);
    });
  }

  private start(): Thread {
    const thread = new Thread(THREAD_ENTRY, { stdout: true });
    thread.stdout.pipe(process.stderr);
    thread.unref();
    return thread;
  }

  async close(): Promise<void> {
    const thread = this.thread;
    this.thread = undefined;
    await thread?.terminate();
  }
}
