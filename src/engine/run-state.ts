import { type FedauError, serializeError } from '../core/errors.ts';
import { emptyCounts, type ReporterHub, type RunEvent, type StageStatus } from './events.ts';
import type { ResolvedPipeline } from './pipeline.ts';
import { type RunLog, writeRunLog } from './run-log.ts';
import type { ArtifactRef } from './stage.ts';
import type { ArtifactStore } from './store.ts';

export interface StageResult {
  status: StageStatus;
  key?: string;
  outputs?: Record<string, ArtifactRef>;
  error?: ReturnType<typeof serializeError>;
}

type LogExtra = Partial<RunLog['stages'][string]>;
/** An event as a reporter gets it, before the hub stamps its time. */
type Emitted = RunEvent extends infer E ? (E extends { time: number } ? Omit<E, 'time'> : never) : never;

/**
 * What one run knows as it goes: each stage's result, the run log on disk (rewritten as stages settle), and the
 * reporters. Stages settle through it, so the results, the log and the events always agree.
 */
export class RunState {
  readonly runId: string;
  readonly results = new Map<string, StageResult>();
  readonly log: RunLog;
  readonly hub: ReporterHub;
  private readonly store: ArtifactStore;
  private writes = Promise.resolve();

  constructor(x: {
    runId: string;
    pipeline: ResolvedPipeline;
    store: ArtifactStore;
    hub: ReporterHub;
    runtime?: string;
  }) {
    this.runId = x.runId;
    this.store = x.store;
    this.hub = x.hub;
    this.log = {
      runId: x.runId,
      pipeline: x.pipeline.name,
      file: x.pipeline.file,
      pid: process.pid,
      startedAt: new Date().toISOString(),
      status: 'running',
      ...(x.runtime ? { runtime: x.runtime } : {}),
      stages: Object.fromEntries(x.pipeline.stages.map((s) => [s.id, { kind: s.kind, status: 'pending' as const }])),
    };
  }

  emit(event: Emitted): void {
    this.hub.emit(event);
  }

  /** Rewrites the run log (in order: the last write always reflects the latest state). */
  save(): Promise<void> {
    this.writes = this.writes.then(() => writeRunLog(this.store, this.log)).catch(() => undefined);
    return this.writes;
  }

  isOk(id: string): boolean {
    return ['success', 'cached'].includes(this.results.get(id)?.status ?? '');
  }

  /** A stage is running: the log says so, with its key parts. */
  running(id: string, extra: LogExtra): void {
    this.log.stages[id] = { ...this.log.stages[id], status: 'running', ...extra };
    void this.save();
  }

  finish(id: string, result: StageResult, extra: LogExtra = {}): void {
    this.results.set(id, result);
    const { status, key, outputs, error } = result;
    this.log.stages[id] = { ...this.log.stages[id], ...extra, status, key, outputs, error };
    void this.save();
  }

  skip(
    id: string,
    reason: 'interrupted' | 'upstream-failed',
    because?: string,
    result: Partial<StageResult> = {},
  ): void {
    this.finish(id, { ...result, status: 'skipped' });
    this.emit({ type: 'stage:skipped', stageId: id, reason, ...(because ? { because } : {}) });
  }

  fail(id: string, error: FedauError, key?: string, extra: LogExtra & { durationMs?: number } = {}): void {
    const serialized = serializeError(error);
    this.finish(id, { status: 'failure', key, error: serialized }, extra);
    this.emit({
      type: 'stage:end',
      stageId: id,
      status: 'failure',
      durationMs: extra.durationMs ?? 0,
      error: serialized,
    });
  }

  counts(): Record<StageStatus, number> {
    const counts = emptyCounts();
    for (const r of this.results.values()) counts[r.status]++;
    return counts;
  }
}
