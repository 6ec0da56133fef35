import { availableParallelism } from 'node:os';
import { Worker as Thread } from 'node:worker_threads';
import { FedauError, InterruptedError } from '../../core/errors.ts';
import type { ModelDef } from '../models/model.ts';
import { headSpecs } from '../models/model.ts';
import {
  type ClientJob,
  type ClientResult,
  type ClientRunner,
  decodeResult,
  type EncodedJob,
  encodeJob,
  transferables,
} from '../train/job.ts';
import type { TrainerInit, TrainerReply, TrainerTrain } from './trainer-protocol.ts';

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

interface Slot {
  thread: Thread;
  busy?: { job: ClientJob; resolve: (r: ClientResult) => void; reject: (e: unknown) => void };
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
}): Promise<ClientRunner> {
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
    slot.thread.on('message', (m: TrainerReply) => {
      const busy = slot.busy;
      if (!busy) return;
      if (m.type === 'progress') return opts.onStep?.(busy.job.client, m.step, m.total);
      if (m.type !== 'done' && m.type !== 'error') return;
      slot.busy = undefined;
      if (m.type === 'done') busy.resolve(decodeResult(m.result, specs));
      else busy.reject(trainingFailure(busy.job.client, m.error));
    });
    slot.thread.on('error', (error) => slot.busy?.reject(error));
  }
  const dispatcher = new Dispatcher(slots);
  return {
    run: (jobs, onDone, signal) => dispatcher.run(jobs, onDone, signal),
    async close() {
      await Promise.all(slots.map((s) => s.thread.terminate()));
    },
  };
}

/**
 * Hands jobs to free threads. Several runs may share the pool (a cluster worker trains jobs of different rounds at
 * once): a slot freed by one run's job wakes the others that wait for a slot.
 */
class Dispatcher {
  private readonly slots: Slot[];
  private readonly pumps = new Set<() => void>();
  private nextId = 0;

  constructor(slots: Slot[]) {
    this.slots = slots;
  }

  private wakeAll(): void {
    for (const pump of [...this.pumps]) pump();
  }

  async run(jobs: ClientJob[], onDone: (r: ClientResult) => void, signal?: AbortSignal): Promise<ClientResult[]> {
    const encoded = this.encodeRound(jobs);
    const queue = jobs.map((job, i) => ({ job, encoded: encoded[i] }));
    const results: ClientResult[] = [];
    await new Promise<void>((resolve, reject) => {
      let active = 0;
      let failed = false;
      const fail = (error: unknown) => {
        failed = true;
        this.pumps.delete(pump);
        signal?.removeEventListener('abort', onAbort);
        reject(error);
        this.wakeAll();
      };
      const onAbort = () => fail(new InterruptedError());
      signal?.addEventListener('abort', onAbort, { once: true });
      const pump = () => {
        if (failed) return;
        if (!queue.length && active === 0) {
          signal?.removeEventListener('abort', onAbort);
          this.pumps.delete(pump);
          return resolve();
        }
        for (const slot of this.slots) {
          if (slot.busy || !queue.length) continue;
          const { job, encoded } = queue.shift()!;
          active++;
          new Promise<ClientResult>((res, rej) => {
            slot.busy = { job, resolve: res, reject: rej };
          })
            .then((r) => {
              active--;
              results.push(r);
              onDone(r);
              pump();
              this.wakeAll();
            })
            .catch(fail);
          const message: TrainerTrain = { type: 'train', id: this.nextId++, job: encoded, indices: job.indices };
          slot.thread.postMessage(message, transferables(encoded));
        }
      };
      this.pumps.add(pump);
      pump();
    });
    return results;
  }

  /** Each job encoded; one shared copy of the round's global weights for all jobs that start from them. */
  private encodeRound(jobs: ClientJob[]): EncodedJob[] {
    const encoded = jobs.map(encodeJob);
    if (!jobs.length) return encoded;
    const globalShared = shared(Float32Array, encoded[0].weights.length);
    globalShared.set(encoded[0].weights);
    return encoded.map((e, i) => (jobs[i].weights === jobs[0].weights ? { ...e, weights: globalShared } : e));
  }
}
