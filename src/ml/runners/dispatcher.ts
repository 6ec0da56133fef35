import type { Worker as Thread } from 'node:worker_threads';
import { InterruptedError } from '../../core/errors.ts';
import type { TrainerReply, TrainerRequest } from './trainer-protocol.ts';

/**
 * One piece of work for a thread: the message that starts it, and its answer read from the thread's replies
 * (undefined while a reply is only progress; a thrown error when the thread failed it).
 */
export interface ThreadTask<R> {
  start(id: number): { message: TrainerRequest; transfer: ArrayBuffer[] };
  answer(reply: TrainerReply): R | undefined;
}

export interface Slot {
  thread: Thread;
  busy?: { reply: (m: TrainerReply) => void; fail: (e: unknown) => void };
}

/**
 * Hands tasks to free threads. Several runs may share the pool (a cluster worker trains jobs of different rounds at
 * once; an evaluation's two sets go at once): a slot freed by one run's task wakes the others that wait for a slot.
 */
export class Dispatcher {
  private readonly slots: Slot[];
  private readonly pumps = new Set<() => void>();
  private nextId = 0;

  constructor(slots: Slot[]) {
    this.slots = slots;
  }

  private wakeAll(): void {
    for (const pump of [...this.pumps]) pump();
  }

  async run<R>(tasks: ThreadTask<R>[], onDone: (r: R) => void, signal?: AbortSignal): Promise<R[]> {
    const queue = [...tasks];
    const results: R[] = [];
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
          const task = queue.shift()!;
          active++;
          new Promise<R>((res, rej) => {
            const settle = (f: () => void) => {
              slot.busy = undefined;
              f();
            };
            slot.busy = {
              reply: (m) => {
                try {
                  const answer = task.answer(m);
                  if (answer !== undefined) settle(() => res(answer));
                } catch (error) {
                  settle(() => rej(error));
                }
              },
              fail: (error) => settle(() => rej(error)),
            };
          })
            .then((r) => {
              active--;
              results.push(r);
              onDone(r);
              pump();
              this.wakeAll();
            })
            .catch(fail);
          const { message, transfer } = task.start(this.nextId++);
          slot.thread.postMessage(message, transfer);
        }
      };
      this.pumps.add(pump);
      pump();
    });
    return results;
  }
}
