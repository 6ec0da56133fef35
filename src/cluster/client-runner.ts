import type { ArtifactRef } from '../engine/stage.ts';
import type { ClientJob, ClientResult } from '../ml/client-train.ts';
import type { ClientRunner } from '../ml/federated-training.ts';
import type { ModelDef } from '../ml/models/model.ts';
import { headSpecs } from '../ml/models/model.ts';
import { flattenWeights, unflattenWeights } from '../ml/params.ts';
import type { Coordinator } from './coordinator.ts';
import { CLIENT_QUEUE, jobIdOf } from './names.ts';
import type { ClientJobPayload, ClientJobResult, Facts, JobProgress } from './protocol.ts';

const bytesOf = (a: Float32Array) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
const floatsOf = (b: Uint8Array) => new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));

export interface QueueRunnerOptions {
  coordinator: Coordinator;
  runId: string;
  stage: string;
  key: string;
  facts: Facts;
  model: ModelDef;
  dataset: ArtifactRef;
  partition: ArtifactRef;
  read(ref: ArtifactRef): Promise<Uint8Array>;
  onProgress?(client: number, progress: JobProgress): void;
  /** Told when the training closes the runner: what crossed Redis for it, from this side. */
  onTransport?(stats: { dataBytes: number; bytesUp: number; bytesDown: number; seconds: number; rounds: number }): void;
}

/**
 * A ClientRunner whose clients train on the workers of a cluster: each client's local update of a round is one
 * job. The dataset and partition travel once (workers keep them by digest); each round the global weights go out
 * once, each client's update comes back, and that traffic is deleted once the round's results are in. FedAvg stays
 * with the caller, in client order, so the federation is the same bytes as a local run's.
 */
export async function queueClientRunner(opts: QueueRunnerOptions): Promise<ClientRunner> {
  const { coordinator: c, model } = opts;
  const start = { ...c.blobs.stats };
  for (const ref of [opts.dataset, opts.partition]) await c.guard(c.blobs.put(await opts.read(ref), ref.digest));
  const heads = headSpecs(model);
  // Round traffic is counted apart from the one-off upload of the data, which workers then keep.
  const before = { ...c.blobs.stats };
  const once = before.bytesUp - start.bytesUp;
  let rounds = 0;
  return {
    async run(jobs: ClientJob[], onDone, signal) {
      if (!jobs.length) return [];
      rounds++;
      const traffic: string[] = [];
      const upload = async (a: Float32Array) => {
        const digest = await c.guard(c.blobs.put(bytesOf(a)));
        traffic.push(digest);
        return digest;
      };
      const weights = await upload(flattenWeights(jobs[0].weights));
      try {
        return await Promise.all(
          jobs.map(async (job): Promise<ClientResult> => {
            const payload: ClientJobPayload = {
              v: 1,
              runId: opts.runId,
              stage: opts.stage,
              key: opts.key,
              facts: opts.facts,
              model: { name: model.name, classes: model.classes, inputShape: model.inputShape },
              dataset: opts.dataset.digest,
              partition: opts.partition.digest,
              weights: job.weights === jobs[0].weights ? weights : await upload(flattenWeights(job.weights)),
              ...(job.head ? { head: await upload(flattenWeights(job.head)) } : {}),
              round: job.round,
              client: job.client,
              lr: job.lr,
              recipe: job.recipe,
              ...(job.dropForget ? { dropForget: true } : {}),
            };
            const r = await c.submit<ClientJobResult>(
              CLIENT_QUEUE,
              jobIdOf(opts.runId, opts.key, `r${job.round}-c${job.client}`),
              payload,
              {
                description: `client ${job.client} of ${opts.stage} (round ${job.round + 1})`,
                signal,
                onProgress: (p) => opts.onProgress?.(job.client, p),
              },
            );
            traffic.push(r.weights, ...(r.head ? [r.head] : []));
            const result: ClientResult = {
              client: job.client,
              weights: unflattenWeights(floatsOf(await c.guard(c.blobs.get(r.weights))), model.specs),
              head: r.head ? unflattenWeights(floatsOf(await c.guard(c.blobs.get(r.head))), heads) : undefined,
              loss: r.loss,
              steps: r.steps,
              samples: r.samples,
              ms: r.ms,
              worker: r.worker,
            };
            onDone(result);
            return result;
          }),
        );
      } finally {
        // The round's traffic is of no further use once its results are in memory.
        await c.guard(c.blobs.delete(traffic)).catch(() => undefined);
      }
    },
    async close() {
      const s = c.blobs.stats;
      opts.onTransport?.({
        dataBytes: once,
        bytesUp: s.bytesUp - before.bytesUp,
        bytesDown: s.bytesDown - before.bytesDown,
        seconds: s.seconds - before.seconds,
        rounds,
      });
    },
  };
}
