import type { WorkerEvent } from '../cluster/worker-events.ts';

/** A line per job and per notable event: what `fedau worker` prints to a log or a pipe. */
export function workerLine(e: WorkerEvent): string | undefined {
  switch (e.type) {
    case 'ready':
      return (
        `[worker ${e.id}] ready on ${e.url}: fedau ${e.facts.fedau}, tfjs ${e.facts.tfjs}, ` +
        `backend ${e.facts.backend}, ` +
        `${e.concurrency} job${e.concurrency === 1 ? '' : 's'} at a time, store ${e.store}`
      );
    case 'job:start':
      return `[worker] ${e.what}: started`;
    case 'job:end':
      return e.error
        ? `[worker] ${e.what}: failed after ${e.seconds.toFixed(1)} s: ${e.error}`
        : `[worker] ${e.what}: done in ${e.seconds.toFixed(1)} s`;
    case 'refused':
      return `[worker] refused ${e.what}: ${e.reason}`;
    case 'dropped':
      return `[worker] dropped ${e.what}: ${e.reason}`;
    case 'stopping':
      return e.handBack
        ? '[worker] stopping: handing the jobs in hand back to the queue'
        : '[worker] stopping: finishing the jobs in hand (Ctrl-C again hands them back)';
    case 'stopped':
      return '[worker] stopped';
  }
}
