import type { Facts } from './protocol.ts';

/** What the worker tells its view: one event per job started or ended, and the rest of its life. */
export type WorkerEvent =
  | { type: 'ready'; id: string; url: string; facts: Facts; concurrency: number; store: string }
  | { type: 'job:start'; job: string; what: string }
  | { type: 'job:end'; job: string; what: string; seconds: number; error?: string }
  | { type: 'refused'; what: string; reason: string }
  | { type: 'dropped'; what: string; reason: string }
  | { type: 'stopping'; handBack: boolean }
  | { type: 'stopped' };
