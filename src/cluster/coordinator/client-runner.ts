import type { ArtifactRef } from '../../engine/stage.ts';
import { TrainingRestart } from '../../fl/federation.ts';
import type { ModelDef } from '../../ml/models/model.ts';
import { headSpecs } from '../../ml/models/model.ts';
import { sizeOf } from '../../ml/models/params.ts';
import {
  type ClientJob,
  type ClientResult,
  type ClientRunner,
  decodeResult,
  encodeJob,
  taskOf,
} from '../../ml/train/job.ts';
import {
  CLIENT_QUEUE,
  type ClientJobPayload,
  type ClientJobResult,
  type Facts,
  type JobProgress,
  jobIdOf,
} from '../protocol.ts';
import { checkForm, MalformedAnswer, sameResult } from './answer-checks.ts';
import type { Coordinator } from './coordinator.ts';
import { Provenance } from './provenance.ts';
import { allFinite, sampledForVerification } from './verify.ts';

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
  /** The partition's forget set (1 = forget): what a client leaves out or keeps, for checking its answer. */
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

/** One round's uploads, held under the round's name and released once its results are in. */
interface RoundTraffic {
  holder: string;
  digests: Set<string>;
}

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
export class QueueClientRunner implements ClientRunner {
  readonly provenance = new Provenance();
  private readonly opts: QueueRunnerOptions;
  private readonly c: Coordinator;
  private readonly sizes: { weights: number; head: number };
  /** The first round each worker answered in this run: a ban beyond it means the rounds since are wrong. */
  private readonly firstRound = new Map<string, number>();
  private restart?: string;
  private rounds = 0;
  private dataBytes = 0;
  private before = { bytesUp: 0, bytesDown: 0, seconds: 0 };

  private constructor(opts: QueueRunnerOptions) {
    this.opts = opts;
    this.c = opts.coordinator;
    const count = (specs: { shape: number[] }[]) => specs.reduce((n, s) => n + sizeOf(s.shape), 0);
    this.sizes = { weights: count(opts.model.specs), head: count(headSpecs(opts.model)) };
  }

  static async open(opts: QueueRunnerOptions): Promise<QueueClientRunner> {
    const runner = new QueueClientRunner(opts);
    const start = runner.c.blobs.stats.bytesUp;
    await runner.putData();
    // Round traffic is counted apart from the one-off upload of the data, which workers then keep.
    runner.dataBytes = runner.c.blobs.stats.bytesUp - start;
    runner.before = { ...runner.c.blobs.stats };
    return runner;
  }

  /** The data, held by the run: put again before each job, since Redis may have lost it (restarted, flushed). */
  private async putData(): Promise<void> {
    for (const ref of [this.opts.dataset, this.opts.partition]) {
      await this.c.putForRun(await this.opts.read(ref), ref.digest);
    }
  }

  async run(jobs: ClientJob[], onDone: (r: ClientResult) => void, signal?: AbortSignal): Promise<ClientResult[]> {
    if (!jobs.length) return [];
    this.rounds++;
    const traffic: RoundTraffic = {
      holder: `round:${this.opts.runId}:${this.opts.key.slice(0, 16)}:r${jobs[0].round}`,
      digests: new Set(),
    };
    try {
      const results = await Promise.all(
        jobs.map(async (job) => {
          const result = await this.train(job, traffic, signal);
          onDone(result);
          return result;
        }),
      );
      // A worker banned during the round: none of its answers of this round is used.
      for (const [i, r] of results.entries()) {
        if (r.worker && this.c.banned.has(r.worker)) {
          this.provenance.uncount(r.worker);
          this.provenance.local();
          results[i] = await this.computeHere(jobs[i], signal);
        }
      }
      if (this.restart) {
        const why = this.restart;
        this.restart = undefined;
        this.firstRound.clear();
        throw new TrainingRestart(why);
      }
      return results;
    } finally {
      // The round's weights are of no further use once its results are in (another holder keeps its copy).
      await this.c.guard(this.c.blobs.release(traffic.digests, traffic.holder)).catch(() => undefined);
    }
  }

  async close(): Promise<void> {
    const s = this.c.blobs.stats;
    this.opts.onTransport?.({
      dataBytes: this.dataBytes,
      bytesUp: s.bytesUp - this.before.bytesUp,
      bytesDown: s.bytesDown - this.before.bytesDown,
      seconds: s.seconds - this.before.seconds,
      rounds: this.rounds,
    });
  }

  private async computeHere(job: ClientJob, signal?: AbortSignal): Promise<ClientResult> {
    const [result] = await (await this.opts.local()).run([job], () => undefined, signal);
    return result;
  }

  /** Bans a worker for `reason`; what it answered in earlier rounds of this run means starting over without it. */
  private async condemn(worker: string, round: number, reason: string): Promise<void> {
    await this.c.ban(worker, reason);
    const first = this.firstRound.get(worker);
    if (first !== undefined && first < round) {
      this.restart ??= `worker ${worker} answered wrong (${reason}) and had answered since round ${first + 1}`;
    }
  }

  /** One client's update from the cluster, checked, verified when sampled, replaced when its worker is banned. */
  private async train(job: ClientJob, traffic: RoundTraffic, signal?: AbortSignal): Promise<ClientResult> {
    const what = `client ${job.client} of ${this.opts.stage} (round ${job.round + 1})`;
    const answered = await this.c.job<{ result: ClientResult; finite: boolean } | MalformedAnswer>({
      queue: CLIENT_QUEUE,
      jobId: jobIdOf(this.opts.runId, this.opts.key, `r${job.round}-c${job.client}`),
      description: what,
      signal,
      onProgress: (p) => this.opts.onProgress?.(job.client, p),
      prepare: () => this.payload(job, traffic),
      collect: async (answer, jobId) => {
        const a = answer as ClientJobResult;
        try {
          return await this.readAnswer(a, job, jobId);
        } catch (error) {
          if (!(error instanceof MalformedAnswer)) throw error;
          const worker = typeof a?.worker?.id === 'string' ? a.worker.id : 'an unnamed worker';
          await this.condemn(worker, job.round, `its answer for ${what} is malformed: ${error.message}`);
          return error;
        }
      },
    });
    if (answered instanceof MalformedAnswer || this.c.banned.has(answered.result.worker ?? '')) {
      this.provenance.local();
      return this.computeHere(job, signal);
    }
    const { result, finite } = answered;
    const worker = result.worker!;
    if (!this.firstRound.has(worker)) this.firstRound.set(worker, job.round);
    // Values that are not finite are checked too: a diverging training gives them here as well, a broken one not.
    const identity = `${this.opts.key}/r${job.round}/c${job.client}`;
    const checked = !finite || sampledForVerification(this.opts.verify, identity);
    if (checked) {
      const mine = await this.computeHere(job, signal);
      if (!sameResult(mine, result)) {
        await this.condemn(worker, job.round, `its update for ${what} differs from this process's computation`);
        this.provenance.local();
        return mine;
      }
    }
    this.provenance.count(worker, checked);
    return result;
  }

  /** The job's payload, its tensors put into Redis under the round's name (again, on every attempt). */
  private async payload(job: ClientJob, traffic: RoundTraffic): Promise<ClientJobPayload> {
    await this.putData();
    const encoded = encodeJob(job);
    const put = async (a?: Float32Array) => {
      if (!a) return undefined;
      const digest = await this.c.blobs.put(bytesOf(a), traffic.holder);
      traffic.digests.add(digest);
      return digest;
    };
    const [weights, head, anchor] = [await put(encoded.weights), await put(encoded.head), await put(encoded.anchor)];
    const { model } = this.opts;
    return {
      v: 1,
      runId: this.opts.runId,
      stage: this.opts.stage,
      key: this.opts.key,
      facts: this.opts.facts,
      model: { name: model.name, classes: model.classes, inputShape: model.inputShape },
      dataset: this.opts.dataset.digest,
      partition: this.opts.partition.digest,
      weights: weights!,
      ...(head ? { head } : {}),
      ...(anchor ? { anchor } : {}),
      task: taskOf(job),
    };
  }

  /** The worker's answer read from Redis and checked for its form; its blobs are released once read. */
  private async readAnswer(
    a: ClientJobResult,
    job: ClientJob,
    jobId: string,
  ): Promise<{ result: ClientResult; finite: boolean }> {
    if (!a || typeof a !== 'object' || typeof a.weights !== 'string' || typeof a.worker?.id !== 'string') {
      throw new MalformedAnswer('it is not a client update');
    }
    this.provenance.stamp(a.worker);
    const blobs = [a.weights, a.head, a.forgetSteps].filter((d): d is string => typeof d === 'string');
    try {
      const get = async (d?: string) => (d ? floatsOf(await this.c.blobs.get(d)) : undefined);
      const encoded = {
        client: job.client,
        weights: (await get(a.weights))!,
        head: await get(a.head),
        forgetSteps: await get(a.forgetSteps),
        loss: a.loss,
        steps: a.steps,
        samples: a.samples,
        ms: a.ms,
      };
      checkForm(encoded, job, this.sizes, this.opts.forget);
      const specs = { model: this.opts.model.specs, head: headSpecs(this.opts.model) };
      const result = { ...decodeResult(encoded, specs), worker: a.worker.id };
      const finite = [encoded.weights, encoded.head, encoded.forgetSteps].every((x) => !x || allFinite(x));
      return { result, finite: finite && Number.isFinite(a.loss) };
    } finally {
      await this.c.blobs.release(blobs, `job:${jobId}`).catch(() => undefined);
    }
  }
}
