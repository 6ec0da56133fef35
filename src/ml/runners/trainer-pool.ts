import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { FedauError, InterruptedError } from '../../core/errors.ts';
import type { ClientRunner } from '../../fl/federation.ts';
import type { ModelDef } from '../models/model.ts';
import { headSpecs } from '../models/model.ts';
import { flattenWeights, unflattenWeights } from '../models/params.ts';
import type { ClientJob, ClientResult } from '../train/client-train.ts';
import type { WorkerInit, WorkerReply, WorkerTrain } from './trainer-protocol.ts';

/**
 * The compiled worker beside this module; when fedau runs from its TypeScript sources, a shim that registers a
 * TypeScript loader in the thread first (the installed tool never needs one).
 */
const WORKER_ENTRY = import.meta.url.endsWith('.ts')
  ? new URL('./trainer-thread-dev.mjs', import.meta.url)
  : new URL('./trainer-thread.js', import.meta.url);

export function resolveWorkerCount(requested: number): number {
  return requested > 0 ? requested : Math.max(1, availableParallelism());
}

/** Copies typed data into a SharedArrayBuffer so worker threads can read it without a copy of their own. */
export function shared<T extends Uint8Array | Int32Array | Float32Array>(
  ctor: { new (buffer: SharedArrayBuffer): T; BYTES_PER_ELEMENT: number },
  length: number,
): T {
  return new ctor(new SharedArrayBuffer(length * ctor.BYTES_PER_ELEMENT));
}

interface Slot {
  worker: Worker;
  busy?: { job: ClientJob; resolve: (r: ClientResult) => void; reject: (e: unknown) => void };
}

/**
 * Trains the clients of a round on worker threads, each with its own backend. A worker takes the next client as
 * soon as it is free; results are independent of which worker trained which client, because every client's
 * randomness derives from (seed, round, client) and FedAvg sums in client order.
 */
export async function workerPoolRunner(opts: {
  count: number;
  init: Omit<WorkerInit, 'type'>;
  model: ModelDef;
  onStep?: (client: number, step: number, total: number) => void;
}): Promise<ClientRunner> {
  const slots: Slot[] = [];
  const starting = Array.from({ length: opts.count }, () => {
    // Whatever a worker prints goes to stderr: stdout may be carrying the json reporter's NDJSON.
    const worker = new Worker(WORKER_ENTRY, { stdout: true });
    worker.stdout.pipe(process.stderr);
    const slot: Slot = { worker };
    slots.push(slot);
    return new Promise<void>((resolve, reject) => {
      const onMessage = (m: WorkerReply) => {
        if (m.type === 'ready') resolve();
        else if (m.type === 'error')
          reject(
            new FedauError('FEDAU_BACKEND', `a training worker failed to start: ${m.error.message}`, {
              hint: 'try --workers 1 or --backend cpu',
            }),
          );
      };
      worker.once('message', onMessage);
      worker.once('error', reject);
      worker.postMessage({ type: 'init', ...opts.init } satisfies WorkerInit);
    });
  });
  try {
    await Promise.all(starting);
  } catch (error) {
    await Promise.all(slots.map((s) => s.worker.terminate()));
    throw error;
  }
  let nextId = 0;
  const headSpec = headSpecs(opts.model);
  for (const slot of slots) {
    slot.worker.on('message', (m: WorkerReply) => {
      const busy = slot.busy;
      if (!busy) return;
      if (m.type === 'progress') opts.onStep?.(busy.job.client, m.step, m.total);
      else if (m.type === 'done') {
        slot.busy = undefined;
        busy.resolve({
          client: m.client,
          weights: unflattenWeights(m.weights, opts.model.specs),
          head: m.head ? unflattenWeights(m.head, headSpec) : undefined,
          loss: m.loss,
          steps: m.steps,
          samples: m.samples,
          ms: m.ms,
        });
      } else if (m.type === 'error') {
        slot.busy = undefined;
        // A wasm trap (out of heap, usually) leaves that backend unusable: say what it means.
        const wasmTrap = /^(Aborted\(|memory access out of bounds)/.test(m.error.message);
        busy.reject(
          new FedauError(
            'FEDAU_STAGE_FAILED',
            `training client ${busy.job.client} failed in a worker: ${m.error.message}`,
            {
              cause: m.error.stack,
              hint: wasmTrap
                ? 'the wasm backend ran out of its 4 GB heap: use a smaller batchSize, ' +
                  'or a native backend (--backend tensorflow)'
                : undefined,
            },
          ),
        );
      }
    });
    slot.worker.on('error', (error) => slot.busy?.reject(error));
  }

  // Several runs may share the pool (a cluster worker trains jobs of different rounds at once): a slot freed by one
  // run's job must wake the others that wait for a slot.
  const pumps = new Set<() => void>();
  const wakeAll = () => {
    for (const pump of [...pumps]) pump();
  };
  return {
    async run(jobs, onDone, signal) {
      // One shared copy of the round's global weights for all jobs.
      const flat = flattenWeights(jobs[0]?.weights ?? []);
      const globalShared = shared(Float32Array, flat.length);
      globalShared.set(flat);
      const queue = [...jobs];
      const results: ClientResult[] = [];
      await new Promise<void>((resolve, reject) => {
        let active = 0;
        let failed = false;
        const onAbort = () => {
          failed = true;
          pumps.delete(pump);
          reject(new InterruptedError());
        };
        signal?.addEventListener('abort', onAbort, { once: true });
        const pump = () => {
          if (failed) return;
          if (!queue.length && active === 0) {
            signal?.removeEventListener('abort', onAbort);
            pumps.delete(pump);
            resolve();
            return;
          }
          for (const slot of slots) {
            if (slot.busy || !queue.length) continue;
            const job = queue.shift()!;
            active++;
            const message: WorkerTrain = {
              ...job,
              type: 'train',
              id: nextId++,
              weights: job.weights === jobs[0].weights ? globalShared : flattenWeights(job.weights),
              head: job.head ? flattenWeights(job.head) : undefined,
            };
            new Promise<ClientResult>((res, rej) => (slot.busy = { job, resolve: res, reject: rej }))
              .then((r) => {
                active--;
                results.push(r);
                onDone(r);
                pump();
                wakeAll();
              })
              .catch((error) => {
                failed = true;
                pumps.delete(pump);
                reject(error);
                wakeAll();
              });
            slot.worker.postMessage(message);
          }
        };
        pumps.add(pump);
        pump();
      });
      return results;
    },
    async close() {
      await Promise.all(slots.map((s) => s.worker.terminate()));
    },
  };
}
