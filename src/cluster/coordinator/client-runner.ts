import type { ArtifactRef } from '../../engine/stage.ts';
import { type ClientRunner, TrainingRestart } from '../../fl/federation.ts';
import type { ModelDef } from '../../ml/models/model.ts';
import { headSpecs } from '../../ml/models/model.ts';
import { flattenWeights, sizeOf, unflattenWeights } from '../../ml/models/params.ts';
import type { ClientJob, ClientResult } from '../../ml/train/client-train.ts';
import {
  CLIENT_QUEUE,
  type ClientJobPayload,
  type ClientJobResult,
  type Facts,
  type JobProgress,
  jobIdOf,
} from '../protocol.ts';
import type { Coordinator } from './coordinator.ts';
import { Provenance } from './provenance.ts';
import { allFinite, sameFloats, sampledForVerification } from './verify.ts';

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
  /** The partition's forget set (1 = forget): what a retraining client leaves out, for checking its answer. */
  forget: Uint8Array;
  read(ref: ArtifactRef): Promise<Uint8Array>;
  /** The fraction of client jobs computed here too and compared byte for byte (the pipeline's `verify`). */
  verify: number;
  /** This process's own runner, made on first need: to verify answers and to replace a banned worker's. */
  local(): Promise<ClientRunner>;
  onProgress?(client: number, progress: JobProgress): void;
  /** Told when the training closes the runner: what crossed Redis for it, from this side. */
  onTransport?(stats: { dataBytes: number; bytesUp: number; bytesDown: number; seconds: number; rounds: number }): void;
}

/** An answer that cannot be right whatever the data: wrong sizes, missing parts, counts that do not add up. */
class MalformedAnswer extends Error {}

/**
 * A ClientRunner whose clients train on the workers of a cluster: each client's local update of a round is one
 * job. The dataset and partition travel once (workers keep them by digest); each round the global weights go out
 * once, each client's update comes back, and that traffic is released once the round's results are in. FedAvg stays
 * with the caller, in client order, so the federation is the same bytes as a local run's.
 *
 * Nothing a worker answers is taken on trust: every update is checked for its form (sizes, finite values, the
 * steps and samples its data implies), a seeded sample of jobs is computed here too and compared byte for byte, and
 * a worker caught answering wrong is banned from the run. Its answers are then computed here instead, and when it
 * had already contributed to earlier rounds, the training restarts from this run's start without it.
 */
export async function queueClientRunner(opts: QueueRunnerOptions): Promise<ClientRunner & { provenance: Provenance }> {
  const { coordinator: c, model } = opts;
  const start = { ...c.blobs.stats };
  const putData = async () => {
    for (const ref of [opts.dataset, opts.partition]) {
      await c.putForRun(await opts.read(ref), ref.digest);
    }
  };
  await putData();
  const heads = headSpecs(model);
  const sizes = {
    weights: model.specs.reduce((n, s) => n + sizeOf(s.shape), 0),
    head: heads.reduce((n, s) => n + sizeOf(s.shape), 0),
  };
  // Round traffic is counted apart from the one-off upload of the data, which workers then keep.
  const before = { ...c.blobs.stats };
  const once = before.bytesUp - start.bytesUp;
  const provenance = new Provenance();
  /** The first round each worker answered in this run: a ban beyond it means the rounds since are wrong. */
  const firstRound = new Map<string, number>();
  let restart: string | undefined;
  let rounds = 0;

  const computeHere = async (job: ClientJob, signal?: AbortSignal): Promise<ClientResult> => {
    const [result] = await (await opts.local()).run([job], () => undefined, signal);
    return result;
  };

  /** Bans a worker for `reason`; what it answered in earlier rounds of this run means starting over without it. */
  const condemn = async (worker: string, round: number, reason: string) => {
    await c.ban(worker, reason);
    const first = firstRound.get(worker);
    if (first !== undefined && first < round)
      restart ??= `worker ${worker} answered wrong (${reason}) and had answered since round ${first + 1}`;
  };

  /** One client's update from the cluster, checked, verified when sampled, replaced when its worker is banned. */
  const train = async (
    job: ClientJob,
    round: { holder: string; digests: Set<string> },
    signal?: AbortSignal,
  ): Promise<ClientResult> => {
    const what = `client ${job.client} of ${opts.stage} (round ${job.round + 1})`;
    const answered = await c.job<{ result: ClientResult; finite: boolean } | MalformedAnswer>({
      queue: CLIENT_QUEUE,
      jobId: jobIdOf(opts.runId, opts.key, `r${job.round}-c${job.client}`),
      description: what,
      signal,
      onProgress: (p) => opts.onProgress?.(job.client, p),
      prepare: async () => {
        // Put again on every attempt: Redis may have lost them (restarted, flushed), and putting what is there
        // only adds this round as a holder.
        await putData();
        const weights = await c.blobs.put(bytesOf(flattenWeights(job.weights)), round.holder);
        const head = job.head ? await c.blobs.put(bytesOf(flattenWeights(job.head)), round.holder) : undefined;
        for (const d of [weights, head]) if (d) round.digests.add(d);
        const payload: ClientJobPayload = {
          v: 1,
          runId: opts.runId,
          stage: opts.stage,
          key: opts.key,
          facts: opts.facts,
          model: { name: model.name, classes: model.classes, inputShape: model.inputShape },
          dataset: opts.dataset.digest,
          partition: opts.partition.digest,
          weights,
          ...(head ? { head } : {}),
          round: job.round,
          client: job.client,
          lr: job.lr,
          recipe: job.recipe,
          ...(job.dropForget ? { dropForget: true } : {}),
        };
        return payload;
      },
      collect: async (answer, jobId) => {
        const a = answer as ClientJobResult;
        const worker = typeof a?.worker?.id === 'string' ? a.worker.id : 'an unnamed worker';
        try {
          return await readAnswer(a, job, jobId);
        } catch (error) {
          if (!(error instanceof MalformedAnswer)) throw error;
          await condemn(worker, job.round, `its answer for ${what} is malformed: ${error.message}`);
          return error;
        }
      },
    });
    if (answered instanceof MalformedAnswer || c.banned.has(answered.result.worker ?? '')) {
      provenance.local();
      return computeHere(job, signal);
    }
    const { result, finite } = answered;
    const worker = result.worker!;
    if (!firstRound.has(worker)) firstRound.set(worker, job.round);
    // Values that are not finite are checked too: a diverging training gives them here as well, a broken one not.
    const checked = !finite || sampledForVerification(opts.verify, `${opts.key}/r${job.round}/c${job.client}`);
    if (checked) {
      const mine = await computeHere(job, signal);
      if (!sameResult(mine, result)) {
        await condemn(worker, job.round, `its update for ${what} differs from this process's computation`);
        provenance.local();
        return mine;
      }
    }
    provenance.count(worker, checked);
    return result;
  };

  /** The worker's answer read from Redis and checked for its form; its blobs are released once read. */
  const readAnswer = async (
    a: ClientJobResult,
    job: ClientJob,
    jobId: string,
  ): Promise<{ result: ClientResult; finite: boolean }> => {
    if (!a || typeof a !== 'object' || typeof a.weights !== 'string' || typeof a.worker?.id !== 'string') {
      throw new MalformedAnswer('it is not a client update');
    }
    provenance.stamp(a.worker);
    const jobHolder = `job:${jobId}`;
    const blobs = [a.weights, ...(a.head ? [a.head] : [])];
    try {
      const weights = floatsOf(await c.blobs.get(a.weights));
      const head = a.head ? floatsOf(await c.blobs.get(a.head)) : undefined;
      checkForm({ weights, head, answer: a, job, sizes, forget: opts.forget });
      const result: ClientResult = {
        client: job.client,
        weights: unflattenWeights(weights, model.specs),
        head: head ? unflattenWeights(head, heads) : undefined,
        loss: a.loss,
        steps: a.steps,
        samples: a.samples,
        ms: a.ms,
        worker: a.worker.id,
      };
      return { result, finite: allFinite(weights) && (!head || allFinite(head)) && Number.isFinite(a.loss) };
    } finally {
      await c.blobs.release(blobs, jobHolder).catch(() => undefined);
    }
  };

  return {
    provenance,
    async run(jobs, onDone, signal) {
      if (!jobs.length) return [];
      rounds++;
      const round = {
        holder: `round:${opts.runId}:${opts.key.slice(0, 16)}:r${jobs[0].round}`,
        digests: new Set<string>(),
      };
      try {
        const results = await Promise.all(
          jobs.map(async (job) => {
            const result = await train(job, round, signal);
            onDone(result);
            return result;
          }),
        );
        // A worker banned during the round: none of its answers of this round is used.
        for (const [i, r] of results.entries()) {
          if (r.worker && c.banned.has(r.worker)) {
            provenance.uncount(r.worker);
            provenance.local();
            results[i] = await computeHere(jobs[i], signal);
          }
        }
        if (restart) {
          const why = restart;
          restart = undefined;
          firstRound.clear();
          throw new TrainingRestart(why);
        }
        return results;
      } finally {
        // The round's weights are of no further use once its results are in (another holder keeps its copy).
        await c.guard(c.blobs.release(round.digests, round.holder)).catch(() => undefined);
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

function sameResult(a: ClientResult, b: ClientResult): boolean {
  return (
    sameFloats(flattenWeights(a.weights), flattenWeights(b.weights)) &&
    sameFloats(flattenWeights(a.head ?? []), flattenWeights(b.head ?? [])) &&
    Object.is(a.loss, b.loss)
  );
}

/** The form any right answer has: sizes of the model, a head exactly when one was sent, counts the data implies. */
function checkForm(x: {
  weights: Float32Array;
  head?: Float32Array;
  answer: ClientJobResult;
  job: ClientJob;
  sizes: { weights: number; head: number };
  forget: Uint8Array;
}): void {
  const { answer: a, job } = x;
  if (x.weights.length !== x.sizes.weights) {
    throw new MalformedAnswer(`${x.weights.length} weights, the model has ${x.sizes.weights}`);
  }
  if (!!job.head !== !!x.head) throw new MalformedAnswer(job.head ? 'no auxiliary head' : 'an unasked-for head');
  if (x.head && x.head.length !== x.sizes.head) throw new MalformedAnswer(`a head of ${x.head.length} values`);
  const kept = job.dropForget ? job.indices.filter((i) => !x.forget[i]).length : job.indices.length;
  const { batchSize, localEpochs } = job.recipe;
  const steps = Math.ceil(kept / batchSize) * localEpochs;
  if (a.steps !== steps || a.samples !== kept * localEpochs) {
    throw new MalformedAnswer(
      `${a.steps} steps over ${a.samples} samples, its data gives ${steps} over ${kept * localEpochs}`,
    );
  }
  if (typeof a.loss !== 'number' || typeof a.ms !== 'number') throw new MalformedAnswer('no loss or time');
}
