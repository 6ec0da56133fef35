import { readFileSync } from 'node:fs';
import { Ajv, type ValidateFunction } from 'ajv';
import { packagePath } from '../core/package-root.ts';
import type { ArtifactRef } from '../engine/stage.ts';
import { CLIENT_TASK_REQUIRED, type ClientTask, clientTaskSchema } from '../ml/train/job.ts';

/** BullMQ's key prefix and the two queues: client updates of a training round, and whole stages. */
export const PREFIX = 'fedau';
export const CLIENT_QUEUE = 'clients';
export const STAGE_QUEUE = 'stages';
export type QueueName = typeof CLIENT_QUEUE | typeof STAGE_QUEUE;

/** Job ids are unique per run (BullMQ ids may not contain ':'): a dead run's jobs never answer a new run. */
export function jobIdOf(runId: string, key: string, what: string): string {
  return `${runId}-${key.slice(0, 16)}-${what}`;
}

/**
 * What makes two processes compute the same bytes: fedau's version, tfjs's, the backend, and on wasm which build of
 * fedau's kernels runs (the fused multiply-add one needs an engine and a CPU that fuse). A worker takes only jobs
 * whose facts are its own; any other result would differ from the coordinator's local one.
 */
export interface Facts {
  fedau: string;
  tfjs: string;
  backend: string;
  /** `kernelsFact`: the wasm kernels' build and fingerprint, `none` off wasm. */
  kernels: string;
}

/** One client's local update of one round: everything by value or by blob digest, nothing by path. */
export interface ClientJobPayload {
  v: 1;
  runId: string;
  /** The training stage's id and key, for messages and job ids. */
  stage: string;
  key: string;
  facts: Facts;
  model: { name: string; classes: number; inputShape: [number, number, number] };
  dataset: string;
  partition: string;
  /** The weights to start from, flattened (the encoded job's tensors travel as blobs). */
  weights: string;
  /** An unlearning client's W2 and b2, flattened. */
  head?: string;
  /** The centre of an ascent's ball, flattened. */
  anchor?: string;
  /** What the client does: the same task a trainer thread receives. */
  task: ClientTask;
}

/** Which machine answered a job, as run records keep it: enough to find it and to know what it ran. */
export interface WorkerStamp extends Facts {
  id: string;
  host: string;
}

export interface ClientJobResult {
  weights: string;
  head?: string;
  forgetSteps?: string;
  loss: number;
  steps: number;
  samples: number;
  ms: number;
  worker: WorkerStamp;
}

/** A job a worker would not do because its run looked gone (its coordinator stalled): the coordinator resubmits it. */
export interface DroppedJob {
  dropped: true;
  worker: string;
  reason: string;
}

/** A whole stage run on a worker: its kind and params (validated there against the kind's schema) and inputs. */
export interface StageJobPayload {
  v: 1;
  runId: string;
  stage: string;
  kind: string;
  params: Record<string, unknown>;
  seed: number;
  key: string;
  facts: Facts;
  inputs: Record<string, ArtifactRef>;
}

export interface StageJobResult {
  outputs: Record<string, ArtifactRef>;
  worker: WorkerStamp;
}

/** Progress a worker reports on a job: which worker, how far. */
export interface JobProgress {
  worker: string;
  step: number;
  total: number;
  label?: string;
}

const digest = { type: 'string', pattern: '^[0-9a-f]{64}$' };
const id = { type: 'string', pattern: '^[A-Za-z0-9._\\[\\],=@ -]{1,300}$' };
const facts = {
  type: 'object',
  additionalProperties: false,
  required: ['fedau', 'tfjs', 'backend', 'kernels'],
  properties: {
    fedau: { type: 'string' },
    tfjs: { type: 'string' },
    backend: { type: 'string' },
    kernels: { type: 'string' },
  },
};
const artifactRef = {
  type: 'object',
  additionalProperties: false,
  required: ['kind', 'digest', 'size'],
  properties: {
    kind: { type: 'string', pattern: '^[a-z]+$' },
    digest,
    size: { type: 'integer', minimum: 0 },
    meta: { type: 'object', additionalProperties: { type: ['string', 'number', 'boolean'] } },
  },
};

/**
 * What one job may ask of a worker, beyond what the stage schemas allow: a payload within the schemas could still
 * exhaust a machine (a 512³ input, a thousand epochs), so a worker takes only jobs of the shapes fedau's models are
 * built for and of a bounded size.
 */
export const WORKER_LIMITS = { localEpochs: 100, batchSize: 4096, stageBatchSize: 10_000 } as const;

/** The models a worker builds: the train-federation schema's (`auto` is resolved before any job). */
function modelNames(): string[] {
  const schema = JSON.parse(readFileSync(packagePath('schemas/stages/train-federation.schema.json'), 'utf8')) as {
    properties: { model: { enum: string[] } };
  };
  return schema.properties.model.enum.filter((m) => m !== 'auto');
}

const clientJobSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['v', 'runId', 'stage', 'key', 'facts', 'model', 'dataset', 'partition', 'weights', 'task'],
  properties: {
    v: { const: 1 },
    runId: id,
    stage: id,
    key: digest,
    facts,
    model: {
      type: 'object',
      additionalProperties: false,
      required: ['name', 'classes', 'inputShape'],
      properties: {
        name: { enum: modelNames() },
        classes: { type: 'integer', minimum: 2, maximum: 1000 },
        // The input shapes of the datasets fedau loads (MNIST; CIFAR): nothing larger reaches a worker.
        inputShape: {
          enum: [
            [28, 28, 1],
            [32, 32, 3],
          ],
        },
      },
    },
    dataset: digest,
    partition: digest,
    weights: digest,
    head: digest,
    anchor: digest,
    task: {
      type: 'object',
      additionalProperties: false,
      required: CLIENT_TASK_REQUIRED,
      properties: clientTaskSchema(WORKER_LIMITS),
    },
  },
};

const stageJobSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['v', 'runId', 'stage', 'kind', 'params', 'seed', 'key', 'facts', 'inputs'],
  properties: {
    v: { const: 1 },
    runId: id,
    stage: id,
    kind: { type: 'string', pattern: '^[a-z][a-z0-9-]{0,40}$' },
    params: { type: 'object' },
    seed: { type: 'integer', minimum: 0, maximum: 4294967295 },
    key: digest,
    facts,
    inputs: { type: 'object', additionalProperties: artifactRef },
  },
};

const ajv = new Ajv({ allErrors: true, strict: true, allowUnionTypes: true });
const validators: Record<'client' | 'stage', ValidateFunction> = {
  client: ajv.compile(clientJobSchema),
  stage: ajv.compile(stageJobSchema),
};

/**
 * Checks a job's payload before a worker touches it: anything on the queue came over the network. Returns the
 * problems, or an empty list.
 */
export function payloadProblems(kind: 'client' | 'stage', data: unknown): string[] {
  const validate = validators[kind];
  if (validate(data)) return [];
  return (validate.errors ?? []).map((e) => `${e.instancePath || '(payload)'} ${e.message}`);
}

/** Why a worker with `mine` facts must not run a job made under `theirs`, or undefined when it may. */
export function factsMismatch(mine: Facts, theirs: Facts): string | undefined {
  const diffs = (Object.keys(mine) as (keyof Facts)[])
    .filter((k) => mine[k] !== theirs[k])
    .map((k) => `${k} ${mine[k]} (the coordinator's is ${theirs[k]})`);
  return diffs.length ? diffs.join(', ') : undefined;
}
