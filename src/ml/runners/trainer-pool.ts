import { availableParallelism } from 'node:os';
import { Worker as Thread } from 'node:worker_threads';
import { FedauError } from '../../core/errors.ts';
import type { Predictor } from '../eval/predict.ts';
import type { ModelDef } from '../models/model.ts';
import { headSpecs } from '../models/model.ts';
import type { ParamSpec } from '../models/params.ts';
import {
  type ClientJob,
  type ClientResult,
  type ClientRunner,
  decodeResult,
  type EncodedJob,
  encodeJob,
  transferables,
} from '../train/job.ts';
import { Dispatcher, type Slot, type ThreadTask } from './dispatcher.ts';
import { threadPredictor } from './thread-predictor.ts';
import type { TrainerInit, TrainerReply } from './trainer-protocol.ts';

/**
 * The compiled thread entry beside this module; when fedau runs from its TypeScript sources, a shim that registers
 * a TypeScript loader in the thread first (the installed tool never needs one).
 */
const THREAD_ENTRY = import.meta.url.endsWith('.ts')
  ? new URL('./trainer-thread-dev.mjs', import.meta.url)
  : new URL('./trainer-thread.js', import.meta.url);

export function resolveThreadCount(requested: number): number {
  return requested > 0 ? requested : Math.max(1, availableParallelism());
}

/** Copies typed data into a SharedArrayBuffer so trainer threads can read it without a copy of their own. */
export function shared<T extends Uint8Array | Int32Array | Float32Array>(
  ctor: { new (buffer: SharedArrayBuffer): T; BYTES_PER_ELEMENT: number },
  length: number,
): T {
  return new ctor(new SharedArrayBuffer(length * ctor.BYTES_PER_ELEMENT));
}

/** A trainer thread, started with the training set and ready to take clients. */
function startThread(init: Omit<TrainerInit, 'type'>): { slot: Slot; ready: Promise<void> } {
  // Whatever a thread prints goes to stderr: stdout may be carrying the json reporter's NDJSON.
  const thread = new Thread(THREAD_ENTRY, { stdout: true });
  thread.stdout.pipe(process.stderr);
  const ready = new Promise<void>((resolve, reject) => {
    thread.once('message', (m: TrainerReply) => {
      if (m.type === 'ready') resolve();
      else if (m.type === 'error') {
        const hint = 'try --threads 1 or --backend cpu';
        reject(new FedauError('FEDAU_BACKEND', `a trainer thread failed to start: ${m.error.message}`, { hint }));
      }
    });
    thread.once('error', reject);
    thread.postMessage({ type: 'init', ...init } satisfies TrainerInit);
  });
  return { slot: { thread }, ready };
}

/** The error of a client that failed in a thread; a wasm trap (out of heap, usually) says what it means. */
function trainingFailure(client: number, error: { message: string; stack?: string }): FedauError {
  const wasmTrap = /^(Aborted\(|memory access out of bounds)/.test(error.message);
  return new FedauError(
    'FEDAU_STAGE_FAILED',
    `training client ${client} failed in a trainer thread: ${error.message}`,
    {
      cause: error.stack,
      hint: wasmTrap
        ? 'the wasm backend ran out of its 4 GB heap: use a smaller batchSize, ' +
          'or a native backend (--backend tensorflow)'
        : undefined,
    },
  );
}

/** A client's training on a thread: its progress reported as it comes, its result decoded. */
function trainTask(
  job: ClientJob,
  encoded: EncodedJob,
  specs: { model: ParamSpec[]; head: ParamSpec[] },
  onStep?: (client: number, step: number, total: number) => void,
): ThreadTask<ClientResult> {
  return {
    start: (id) => ({
      message: { type: 'train', id, job: encoded, indices: job.indices },
      transfer: transferables(encoded),
    }),
    answer: (m) => {
      if (m.type === 'progress') onStep?.(job.client, m.step, m.total);
      if (m.type === 'error') throw trainingFailure(job.client, m.error);
      return m.type === 'done' ? decodeResult(m.result, specs) : undefined;
    },
  };
}

/**
 * Trains the clients of a round on trainer threads, each with its own backend. A thread takes the next client as
 * soon as it is free; results are independent of which thread trained which client, because every client's
 * randomness derives from (seed, round, client) and FedAvg sums in client order.
 */
export async function trainerPoolRunner(opts: {
  count: number;
  init: Omit<TrainerInit, 'type'>;
  model: ModelDef;
  onStep?: (client: number, step: number, total: number) => void;
}): Promise<ClientRunner & { predict?: Predictor }> {
  const started = Array.from({ length: opts.count }, () => startThread(opts.init));
  const slots = started.map((s) => s.slot);
  try {
    await Promise.all(started.map((s) => s.ready));
  } catch (error) {
    await Promise.all(slots.map((s) => s.thread.terminate()));
    throw error;
  }
  const specs = { model: opts.model.specs, head: headSpecs(opts.model) };
  for (const slot of slots) {
    slot.thread.on('message', (m: TrainerReply) => slot.busy?.reply(m));
    slot.thread.on('error', (error) => slot.busy?.fail(error));
  }
  const dispatcher = new Dispatcher(slots);
  return {
    run: (jobs, onDone, signal) => {
      const tasks = encodeRound(jobs).map((encoded, i) => trainTask(jobs[i], encoded, specs, opts.onStep));
      return dispatcher.run(tasks, onDone, signal);
    },
    predict: opts.count > 1 ? threadPredictor(dispatcher, opts.model) : undefined,
    async close() {
      await Promise.all(slots.map((s) => s.thread.terminate()));
    },
  };
}

/** Each job encoded; one shared copy of the round's global weights for all jobs that start from them. */
function encodeRound(jobs: ClientJob[]): EncodedJob[] {
  const encoded = jobs.map(encodeJob);
  if (!jobs.length) return encoded;
  const globalShared = shared(Float32Array, encoded[0].weights.length);
  globalShared.set(encoded[0].weights);
  return encoded.map((e, i) => (jobs[i].weights === jobs[0].weights ? { ...e, weights: globalShared } : e));
}
