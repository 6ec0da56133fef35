import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { SerializedError } from '../core/errors.ts';
import { processAlive, writeFileAtomic } from '../core/fs-atomic.ts';
import type { StageStatus } from './events.ts';
import type { KeyParts } from './hash.ts';
import type { ArtifactRef } from './stage.ts';
import { type ArtifactStore, safeReaddir } from './store.ts';

export interface StageLogEntry {
  kind: string;
  status: StageStatus | 'pending' | 'running';
  key?: string;
  parts?: KeyParts;
  outputs?: Record<string, ArtifactRef>;
  durationMs?: number;
  error?: SerializedError;
  provenance?: object;
}

/** The log of one `fedau run`: what ran, what was cached, what failed. Listed by `fedau runs`. */
export interface RunLog {
  runId: string;
  pipeline: string;
  file?: string;
  pid: number;
  startedAt: string;
  endedAt?: string;
  status: 'running' | 'success' | 'failure' | 'interrupted';
  /** How the run computed, in a few words. */
  runtime?: string;
  counts?: Record<StageStatus, number>;
  stages: Record<string, StageLogEntry>;
}

export function newRunId(now = new Date()): string {
  const stamp = now
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z');
  return `${stamp}-${randomBytes(3).toString('hex')}`;
}

export async function writeRunLog(store: ArtifactStore, log: RunLog): Promise<void> {
  await writeFileAtomic(join(store.root, 'runs', `${log.runId}.json`), JSON.stringify(log, null, 2), store.tmpDir);
}

/** Past runs, oldest first. A run still marked running whose process is gone is reported as `killed`. */
export async function listRunLogs(store: ArtifactStore): Promise<(RunLog & { killed?: boolean })[]> {
  const logs: (RunLog & { killed?: boolean })[] = [];
  for (const file of await safeReaddir(join(store.root, 'runs'))) {
    if (!file.endsWith('.json')) continue;
    try {
      const log = JSON.parse(await readFile(join(store.root, 'runs', file), 'utf8')) as RunLog;
      logs.push(log.status === 'running' && !processAlive(log.pid) ? { ...log, killed: true } : log);
    } catch {
      // an unreadable log is not worth failing a listing for
    }
  }
  return logs.sort((a, b) => a.startedAt.localeCompare(b.startedAt) || a.runId.localeCompare(b.runId));
}

/**
 * For each stage id of `pipeline`, the key parts it had in its most recent run, for explaining why a stage runs
 * (`fedau plan`, `stage:start`). Read once per run: the run history only grows.
 */
export async function lastPartsByStage(store: ArtifactStore, pipeline: string): Promise<Map<string, KeyParts>> {
  const last = new Map<string, KeyParts>();
  for (const log of await listRunLogs(store)) {
    if (log.pipeline !== pipeline) continue;
    // Logs come oldest first, so later runs overwrite earlier ones.
    for (const [id, entry] of Object.entries(log.stages)) if (entry.parts) last.set(id, entry.parts);
  }
  return last;
}
