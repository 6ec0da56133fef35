import { readFileSync } from 'node:fs';
import type { TrainingRecipe } from '../../artifacts/federation.ts';
import type { Weights } from '../../artifacts/model.ts';
import { packagePath } from '../../core/package-root.ts';
import { flattenWeights, type ParamSpec, unflattenWeights } from '../models/params.ts';

/**
 * The training-job contract: what one client does in one round, declared once. A trainer thread and a cluster
 * worker receive the same task through the same encoding (`encodeJob`), and its checks come from the
 * train-federation schema (`clientTaskSchema`): a new setting of local training is the schema, the key below, and
 * the code that uses it.
 */

/** The part of the federation's recipe one client's local update depends on. */
export const LOCAL_RECIPE_KEYS = ['localEpochs', 'batchSize', 'momentum', 'weightDecay', 'augment', 'seed'] as const;
export type LocalRecipe = Pick<TrainingRecipe, (typeof LOCAL_RECIPE_KEYS)[number]>;

/** The local part of a recipe, and nothing else (a job's payload is checked field by field). */
export function localRecipe(recipe: LocalRecipe): LocalRecipe {
  return Object.fromEntries(LOCAL_RECIPE_KEYS.map((k) => [k, recipe[k]])) as unknown as LocalRecipe;
}

/** Which of its samples a client trains on. */
export const SAMPLE_SELECTIONS = ['all', 'retain', 'forget'] as const;
export type SampleSelection = (typeof SAMPLE_SELECTIONS)[number];

/** One client's work in one round, as plain data: no tensors, no paths. */
export interface ClientTask {
  round: number;
  client: number;
  /** This round's learning rate. */
  lr: number;
  /** The federation's recipe as a client needs it, whole, so that no setting is left behind by a previous job. */
  recipe: LocalRecipe;
  /**
   * `all` its samples; `retain` those outside the forget set (a retrain, a fine-tuning: the skipped samples keep
   * their draws, so every other sample sees the order and augmentation it had in training); `forget` only those
   * in it (relearning, ascent).
   */
  samples: SampleSelection;
  /** Projected gradient ascent: climb the loss, staying within `radius` (L2) of the job's `anchor` weights. */
  ascent?: { radius: number };
  /** Also return the summed parameter change of the steps whose batch held a forget-set sample (Amnesiac). */
  recordForgetSteps?: boolean;
}

/** A task with its tensors, as a runner receives it. */
export interface ClientJob extends ClientTask {
  /** The model to start from: shared parameters and buffers, in spec order. */
  weights: Weights;
  /** An unlearning client's own head [W2, b2]; absent for a normal client. */
  head?: Weights;
  /** The centre of the ball an ascent stays in. */
  anchor?: Weights;
  /** The client's samples (indices into the training set). */
  indices: Int32Array;
}

export interface ClientResult {
  client: number;
  weights: Weights;
  head?: Weights;
  /** The summed parameter change of the steps on forget-set samples, when asked for. */
  forgetSteps?: Weights;
  /** Mean training loss over the client's steps. */
  loss: number;
  steps: number;
  samples: number;
  ms: number;
  /** Which machine trained it, when a cluster did. */
  worker?: string;
}

/** Trains the clients of a round, on trainer threads or a cluster's workers; results may arrive in any order. */
export interface ClientRunner {
  run(jobs: ClientJob[], onDone: (result: ClientResult) => void, signal?: AbortSignal): Promise<ClientResult[]>;
  close(): Promise<void>;
}

/** The task part of a job (what crosses a thread or a network besides the tensors). */
export function taskOf(job: ClientTask): ClientTask {
  const { round, client, lr, recipe, samples, ascent, recordForgetSteps } = job;
  return {
    round,
    client,
    lr,
    recipe: localRecipe(recipe),
    samples,
    ...(ascent ? { ascent } : {}),
    ...(recordForgetSteps ? { recordForgetSteps } : {}),
  };
}

/** How many samples a task trains on per epoch, and so its steps and samples in all: what a right answer reports. */
export function expectedWork(
  task: ClientTask,
  indices: Int32Array,
  forget: Uint8Array,
): { steps: number; samples: number } {
  const kept =
    task.samples === 'all'
      ? indices.length
      : indices.filter((i) => (task.samples === 'retain' ? !forget[i] : forget[i] === 1)).length;
  const { batchSize, localEpochs } = task.recipe;
  return { steps: Math.ceil(kept / batchSize) * localEpochs, samples: kept * localEpochs };
}

/**
 * The JSON Schema of a task, for checking one that came over a network: the recipe's fields are checked as the
 * train-federation schema declares them, within `limits` (what a worker accepts to do at all).
 */
export function clientTaskSchema(limits: { localEpochs: number; batchSize: number }): Record<string, object> {
  const stage = JSON.parse(readFileSync(packagePath('schemas/stages/train-federation.schema.json'), 'utf8')) as {
    properties: Record<string, Record<string, unknown>>;
  };
  const recipe: Record<string, object> = {};
  for (const key of LOCAL_RECIPE_KEYS) {
    const { description: _d, default: _v, ...check } = stage.properties[key] ?? {};
    recipe[key] = key === 'seed' ? { type: 'integer', minimum: 0, maximum: 4294967295 } : check;
  }
  recipe.localEpochs = { ...recipe.localEpochs, maximum: limits.localEpochs };
  recipe.batchSize = { ...recipe.batchSize, maximum: limits.batchSize };
  return {
    round: { type: 'integer', minimum: 0 },
    client: { type: 'integer', minimum: 0 },
    lr: { type: 'number', exclusiveMinimum: 0, maximum: 10 },
    recipe: { type: 'object', additionalProperties: false, required: [...LOCAL_RECIPE_KEYS], properties: recipe },
    samples: { enum: [...SAMPLE_SELECTIONS] },
    ascent: {
      type: 'object',
      additionalProperties: false,
      required: ['radius'],
      properties: { radius: { type: 'number', exclusiveMinimum: 0, maximum: 1e6 } },
    },
    recordForgetSteps: { type: 'boolean' },
  };
}

/** The required fields of a task. */
export const CLIENT_TASK_REQUIRED = ['round', 'client', 'lr', 'recipe', 'samples'];

/** A job as it crosses a thread or a network: the task, and its tensors flattened (one buffer each). */
export interface EncodedJob {
  task: ClientTask;
  weights: Float32Array;
  head?: Float32Array;
  anchor?: Float32Array;
}

export function encodeJob(job: ClientJob): EncodedJob {
  return {
    task: taskOf(job),
    weights: flattenWeights(job.weights),
    ...(job.head ? { head: flattenWeights(job.head) } : {}),
    ...(job.anchor ? { anchor: flattenWeights(job.anchor) } : {}),
  };
}

/** The job back, for the model's specs and the client's samples (which the receiving side holds). */
export function decodeJob(
  e: EncodedJob,
  specs: { model: ParamSpec[]; head: ParamSpec[] },
  indices: Int32Array,
): ClientJob {
  return {
    ...e.task,
    weights: unflattenWeights(e.weights, specs.model),
    ...(e.head ? { head: unflattenWeights(e.head, specs.head) } : {}),
    ...(e.anchor ? { anchor: unflattenWeights(e.anchor, specs.model) } : {}),
    indices,
  };
}

/** A result as it crosses a thread or a network: its tensors flattened. */
export interface EncodedResult {
  client: number;
  weights: Float32Array;
  head?: Float32Array;
  forgetSteps?: Float32Array;
  loss: number;
  steps: number;
  samples: number;
  ms: number;
}

export function encodeResult(r: ClientResult): EncodedResult {
  return {
    client: r.client,
    weights: flattenWeights(r.weights),
    ...(r.head ? { head: flattenWeights(r.head) } : {}),
    ...(r.forgetSteps ? { forgetSteps: flattenWeights(r.forgetSteps) } : {}),
    loss: r.loss,
    steps: r.steps,
    samples: r.samples,
    ms: r.ms,
  };
}

export function decodeResult(e: EncodedResult, specs: { model: ParamSpec[]; head: ParamSpec[] }): ClientResult {
  return {
    client: e.client,
    weights: unflattenWeights(e.weights, specs.model),
    ...(e.head ? { head: unflattenWeights(e.head, specs.head) } : {}),
    ...(e.forgetSteps ? { forgetSteps: unflattenWeights(e.forgetSteps, specs.model) } : {}),
    loss: e.loss,
    steps: e.steps,
    samples: e.samples,
    ms: e.ms,
  };
}

/** The buffers to transfer (not copy) with a message carrying an encoded job or result. */
export function transferables(e: {
  weights: Float32Array;
  head?: Float32Array;
  anchor?: Float32Array;
  forgetSteps?: Float32Array;
}): ArrayBuffer[] {
  return [e.weights, e.head, e.anchor, e.forgetSteps]
    .filter((a): a is Float32Array => !!a && !(a.buffer instanceof SharedArrayBuffer))
    .map((a) => a.buffer as ArrayBuffer);
}
