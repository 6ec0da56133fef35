/** BullMQ's key prefix and the two queues: client updates of a training round, and whole stages. */
export const PREFIX = 'fedau';
export const CLIENT_QUEUE = 'clients';
export const STAGE_QUEUE = 'stages';

/** Job ids are unique per run (BullMQ ids may not contain ':'): a dead run's jobs never answer a new run. */
export function jobIdOf(runId: string, key: string, what: string): string {
  return `${runId}-${key.slice(0, 16)}-${what}`;
}
