import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { type ConnectionOptions, DelayedError, type Job, UnrecoverableError, WaitingError, Worker } from 'bullmq';
import { stageRegistry } from '../../stages/index.ts';
import { unpackDataset } from '../artifacts/dataset.ts';
import type { ArtifactKind } from '../artifacts/kinds.ts';
import { clientIndices, unpackPartition } from '../artifacts/partition.ts';
import { RedisBlobs } from '../cluster/blobs.ts';
import { CLIENT_QUEUE, PREFIX, STAGE_QUEUE } from '../cluster/names.ts';
import {
  type ClientJobPayload,
  type ClientJobResult,
  type Facts,
  factsMismatch,
  payloadProblems,
  type StageJobPayload,
  type StageJobResult,
} from '../cluster/protocol.ts';
import { connectRedis, maskUrl, redisOptions } from '../cluster/redis.ts';
import { announceWorker, refuse, retireWorker, runIsAlive, type WorkerInfo } from '../cluster/registry.ts';
import type { WorkerEvent } from '../cluster/worker-events.ts';
import { loadSchemas } from '../config/schemas.ts';
import { InterruptedError } from '../engine/errors.ts';
import { LockDir } from '../engine/locks.ts';
import type { ArtifactRef, StageContext } from '../engine/stage.ts';
import { ArtifactStore } from '../engine/store.ts';
import { backendDescription, chooseBackend, tfjsVersion } from '../ml/backend.ts';
import type { ClientRunner } from '../ml/federated-training.ts';
import { buildModel, type ModelName } from '../ml/models/index.ts';
import { headSpecs, type ModelDef } from '../ml/models/model.ts';
import { flattenWeights, unflattenWeights } from '../ml/params.ts';
import { createRunner, trainingSet } from '../ml/runner.ts';
import { packageVersion } from '../util/package-root.ts';

export interface WorkerOptions {
  url: string;
  concurrency: number;
  storeRoot: string;
  /** auto | tensorflow | webgpu | wasm | cpu, resolved on this machine. */
  backend: string;
  onEvent(event: WorkerEvent): void;
  /** How long a job's lock lasts without renewal: a killed worker's job is retried elsewhere after this. */
  lockMs?: number;
}

export interface RunningWorker {
  id: string;
  /** Finishes the jobs in hand (or, with `handBack`, returns them to the queue at once), then disconnects. */
  stop(handBack?: boolean): Promise<void>;
}

const bytesOf = (a: Float32Array) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
const floatsOf = (b: Uint8Array) => new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));

interface Pool {
  key: string;
  model: ModelDef;
  runner: ClientRunner;
  partition: ReturnType<typeof unpackPartition>;
  users: number;
  lastUsed: number;
}

/**
 * `fedau worker`: takes client and stage jobs from the queues of a Redis, trains or runs them with its own backend
 * in worker threads, and answers through Redis. Inputs arrive by digest and stay in the worker's own store, so a
 * dataset crosses the network once per machine. A job is taken only if its facts (fedau, tfjs, backend) are the
 * worker's; its payload is checked against a schema, and only registered stage kinds that may run remotely run,
 * with their params checked against the kind's schema: nothing taken from the queue is code or a path.
 */
export async function startWorker(opts: WorkerOptions): Promise<RunningWorker> {
  const redis = await connectRedis(opts.url, { name: 'fedau-worker' });
  const choice = await chooseBackend(opts.backend);
  const facts: Facts = { fedau: packageVersion(), tfjs: tfjsVersion(), backend: backendDescription(choice) };
  const id = `${hostname()}-${process.pid}`;
  const store = new ArtifactStore(opts.storeRoot);
  await store.init('worker');
  // Held while the worker runs: `fedau gc` of this cache refuses to run under it.
  const lease = await new LockDir(opts.storeRoot).acquire(`worker-${id}`, `fedau worker ${id}`);
  const blobs = new RedisBlobs(redis);
  const pools = new Map<string, Promise<Pool>>();
  const active = new Map<string, string>();
  let done = 0;
  const info = (): WorkerInfo => ({
    id,
    host: hostname(),
    pid: process.pid,
    facts,
    concurrency: opts.concurrency,
    startedAt,
    jobs: [...active.values()],
    done,
  });
  const startedAt = new Date().toISOString();
  await announceWorker(redis, info());
  const heartbeat = setInterval(() => void announceWorker(redis, info()).catch(() => undefined), 5000);

  /** An input artifact: from the local store when it is there, else from Redis (checked), then kept. */
  const local = async (digest: string, kind: ArtifactKind): Promise<Uint8Array> => {
    if (await store.holds(digest)) return store.getBytes({ digest, kind });
    const bytes = await blobs.get(digest);
    await store.putBytes(kind, bytes);
    return bytes;
  };

  /** The training threads for one dataset and partition, shared by the jobs that train on them. */
  const poolFor = (p: ClientJobPayload): Promise<Pool> => {
    const key = `${p.dataset}:${p.partition}:${p.model.name}`;
    let pool = pools.get(key);
    if (!pool) {
      pool = (async () => {
        const ds = unpackDataset(await local(p.dataset, 'dataset'));
        const partition = unpackPartition(await local(p.partition, 'partition'));
        const model = buildModel(p.model.name as ModelName, p.model.classes, p.model.inputShape);
        const { runner } = await createRunner({
          backend: choice,
          workers: opts.concurrency,
          model,
          ...trainingSet(ds, partition),
        });
        return { key, model, runner, partition, users: 0, lastUsed: Date.now() };
      })();
      pools.set(key, pool);
      pool.catch(() => pools.delete(key));
      void retireIdlePools(key);
    }
    return pool;
  };

  /** Keeps at most two sets of training threads: one per dataset in use, the least recently used retired. */
  const retireIdlePools = async (keep: string) => {
    if (pools.size <= 2) return;
    const idle = (await Promise.all([...pools.values()].map((p) => p.catch(() => undefined)))).filter(
      (p): p is Pool => !!p && p.key !== keep && p.users === 0,
    );
    idle.sort((a, b) => a.lastUsed - b.lastUsed);
    for (const p of idle.slice(0, pools.size - 2)) {
      pools.delete(p.key);
      await p.runner.close();
    }
  };

  /** Whether this worker may take the job at all; a job it must not run goes back to the queue for another. */
  const admit = async (job: Job, token: string | undefined, data: { runId: string; facts: Facts }, what: string) => {
    if (!(await runIsAlive(redis, data.runId))) {
      opts.onEvent({ type: 'dropped', what, reason: `its run ${data.runId} is gone (its coordinator stopped)` });
      return false;
    }
    const mismatch = factsMismatch(facts, data.facts);
    if (mismatch) {
      await refuse(redis, data.runId, id, `its ${mismatch}`);
      opts.onEvent({ type: 'refused', what, reason: mismatch });
      await job.moveToDelayed(Date.now() + 3000, token);
      throw new DelayedError();
    }
    return true;
  };

  const track = async <T>(job: Job, what: string, work: () => Promise<T>): Promise<T> => {
    const t0 = performance.now();
    active.set(job.id!, what);
    opts.onEvent({ type: 'job:start', job: job.id!, what });
    try {
      const result = await work();
      done++;
      opts.onEvent({ type: 'job:end', job: job.id!, what, seconds: (performance.now() - t0) / 1000 });
      return result;
    } catch (error) {
      if (!(error instanceof DelayedError || error instanceof WaitingError)) {
        opts.onEvent({
          type: 'job:end',
          job: job.id!,
          what,
          seconds: (performance.now() - t0) / 1000,
          error: String((error as Error).message),
        });
      }
      throw error;
    } finally {
      active.delete(job.id!);
    }
  };

  /** A job interrupted by a hand-back goes back to the queue at once, for another worker. */
  const handBackIfAborted = async (
    job: Job,
    token: string | undefined,
    signal: AbortSignal | undefined,
    error: unknown,
  ) => {
    if (signal?.aborted || error instanceof InterruptedError) {
      await job.moveToWait(token);
      throw new WaitingError();
    }
    throw error;
  };

  const processClient = async (
    job: Job,
    token?: string,
    signal?: AbortSignal,
  ): Promise<ClientJobResult | { dropped: true }> => {
    const problems = payloadProblems('client', job.data);
    if (problems.length)
      throw new UnrecoverableError(`worker ${id} refuses a malformed client job: ${problems.join('; ')}`);
    const p = job.data as ClientJobPayload;
    const what = `client ${p.client} of ${p.stage} (round ${p.round + 1})`;
    if (!(await admit(job, token, p, what))) return { dropped: true };
    return track(job, what, async () => {
      await job.updateProgress({ worker: id, step: 0, total: 1 });
      const pool = await poolFor(p);
      pool.users++;
      try {
        const weights = unflattenWeights(floatsOf(await blobs.get(p.weights)), pool.model.specs);
        const head = p.head ? unflattenWeights(floatsOf(await blobs.get(p.head)), headSpecs(pool.model)) : undefined;
        const clientJob = {
          round: p.round,
          client: p.client,
          weights,
          head,
          indices: clientIndices(pool.partition, p.client),
          lr: p.lr,
          recipe: p.recipe,
          dropForget: p.dropForget,
        };
        let result: Awaited<ReturnType<ClientRunner['run']>>[number];
        try {
          [result] = await pool.runner.run([clientJob], () => undefined, signal);
        } catch (error) {
          return await handBackIfAborted(job, token, signal, error);
        }
        await job.updateProgress({ worker: id, step: 1, total: 1 });
        return {
          weights: await blobs.put(bytesOf(flattenWeights(result.weights))),
          ...(result.head ? { head: await blobs.put(bytesOf(flattenWeights(result.head))) } : {}),
          loss: result.loss,
          steps: result.steps,
          samples: result.samples,
          ms: result.ms,
          worker: id,
        };
      } finally {
        pool.users--;
        pool.lastUsed = Date.now();
      }
    });
  };

  const schemas = loadSchemas();
  const processStage = async (
    job: Job,
    token?: string,
    signal?: AbortSignal,
  ): Promise<StageJobResult | { dropped: true }> => {
    const problems = payloadProblems('stage', job.data);
    if (problems.length)
      throw new UnrecoverableError(`worker ${id} refuses a malformed stage job: ${problems.join('; ')}`);
    const p = job.data as StageJobPayload;
    const def = (stageRegistry as Record<string, (typeof stageRegistry)[keyof typeof stageRegistry]>)[p.kind];
    if (!def?.remote) throw new UnrecoverableError(`worker ${id} runs no stage of kind "${p.kind}" for a coordinator`);
    const params = structuredClone(p.params);
    const validate = schemas.stages.get(p.kind)!;
    if (!validate(params))
      throw new UnrecoverableError(`worker ${id} refuses stage ${p.stage}: its params do not check`);
    const what = `stage ${p.stage} (${p.kind})`;
    if (!(await admit(job, token, p, what))) return { dropped: true };
    return track(job, what, async () => {
      const inputs: Record<string, ArtifactRef> = {};
      for (const [name, ref] of Object.entries(p.inputs)) {
        await local(ref.digest, ref.kind as ArtifactKind);
        inputs[name] = ref as ArtifactRef;
      }
      const ctx: StageContext = {
        stageId: p.stage,
        runId: p.runId,
        kind: p.kind,
        params,
        inputs,
        seed: p.seed,
        key: p.key,
        keyParts: { cacheFormat: 1, kind: p.kind, version: def.version, params, inputs: {}, seed: p.seed },
        signal: signal ?? new AbortController().signal,
        pipeline: { name: `remote ${p.stage}` },
        runtime: { backend: opts.backend, workers: opts.concurrency },
        checkpointDir: store.checkpointDir(p.key),
        downloadDir: store.downloadDir,
        workDir: join(tmpdir(), 'fedau-worker'),
        readArtifact: (ref) => store.getBytes(ref),
        writeArtifact: (kind, bytes, meta) => store.putBytes(kind, bytes, meta),
        progress: (u) => void job.updateProgress({ worker: id, step: u.step, total: u.total ?? 0, label: u.label }),
        log: (_, text) => void job.log(text),
      };
      let outputs: Record<string, ArtifactRef>;
      try {
        outputs = await def.run(ctx as never);
      } catch (error) {
        return await handBackIfAborted(job, token, signal, error);
      }
      for (const ref of Object.values(outputs)) await blobs.put(await store.getBytes(ref), ref.digest);
      return { outputs, worker: id };
    });
  };

  const connection = redisOptions(opts.url) as ConnectionOptions;
  const common = {
    connection,
    prefix: PREFIX,
    lockDuration: opts.lockMs ?? 30_000,
    stalledInterval: Math.max(1000, Math.floor((opts.lockMs ?? 30_000) / 2)),
    // A job whose worker died is moved back once per stall; a few stalls in a row are allowed before it fails.
    maxStalledCount: 5,
  };
  const workers = [
    new Worker(CLIENT_QUEUE, processClient, { ...common, concurrency: opts.concurrency }),
    new Worker(STAGE_QUEUE, processStage, { ...common, concurrency: 1 }),
  ];
  for (const w of workers) w.on('error', () => undefined);
  await Promise.all(workers.map((w) => w.waitUntilReady()));
  opts.onEvent({
    type: 'ready',
    id,
    url: maskUrl(opts.url),
    facts,
    concurrency: opts.concurrency,
    store: opts.storeRoot,
  });

  return {
    id,
    async stop(handBack = false) {
      opts.onEvent({ type: 'stopping', handBack });
      if (handBack) for (const w of workers) w.cancelAllJobs('the worker is stopping: handing the job back');
      await Promise.all(workers.map((w) => w.close()));
      clearInterval(heartbeat);
      for (const pool of pools.values()) await (await pool.catch(() => undefined))?.runner.close();
      await retireWorker(redis, id).catch(() => undefined);
      await lease.release();
      redis.disconnect();
      opts.onEvent({ type: 'stopped' });
    },
  };
}
