import type { SerializedError } from './errors.ts';
import { ProgressGate } from './progress-gate.ts';
import type { ArtifactRef, LogLevel } from './stage.ts';

/** How a stage ended. `cached` is first class: a cached stage did no work. */
export type StageStatus = 'success' | 'failure' | 'cached' | 'skipped';

/** Everything the engine tells the outside world. Plain JSON: reporters, tests and logs all consume the same stream. */
export type RunEvent =
  | {
      type: 'run:start';
      runId: string;
      pipeline: string;
      file?: string;
      backend?: string;
      stages: { id: string; kind: string; needs: string[] }[];
      time: number;
    }
  | { type: 'stage:queued'; stageId: string; time: number }
  | { type: 'stage:cached'; stageId: string; key: string; outputs: Record<string, ArtifactRef>; time: number }
  | { type: 'stage:start'; stageId: string; key: string; reason: string; time: number }
  | {
      type: 'stage:progress';
      stageId: string;
      step: number;
      total?: number;
      label?: string;
      metrics?: Record<string, number>;
      time: number;
    }
  | { type: 'stage:log'; stageId?: string; level: LogLevel; text: string; time: number }
  | {
      type: 'stage:end';
      stageId: string;
      status: 'success' | 'failure';
      durationMs: number;
      outputs?: Record<string, ArtifactRef>;
      error?: SerializedError;
      time: number;
    }
  | {
      type: 'stage:skipped';
      stageId: string;
      reason: 'upstream-failed' | 'interrupted';
      because?: string;
      time: number;
    }
  | {
      type: 'run:end';
      runId: string;
      status: 'success' | 'failure' | 'interrupted';
      counts: Record<StageStatus, number>;
      durationMs: number;
      time: number;
    };

/** Distributes `Omit<E, 'time'>` so events can be emitted without a timestamp. */
export type RunEventInput = RunEvent extends infer E ? (E extends RunEvent ? Omit<E, 'time'> : never) : never;

export interface Reporter {
  onEvent(event: RunEvent): void | Promise<void>;
  /** Called once after `run:end`: unmount the UI, flush. */
  close?(): void | Promise<void>;
}

/**
 * Fans events out to reporters. A reporter that throws is dropped (with a warning to the others), so a
 * broken UI never breaks a run. Progress is capped per stage so a fast loop cannot flood the terminal;
 * the last step of a stage (step === total) and new metrics (a round's evaluation) always get through.
 */
export class ReporterHub {
  private reporters: Reporter[];
  private readonly gate: ProgressGate;
  private readonly now: () => number;

  constructor(reporters: Reporter[], opts: { minProgressIntervalMs?: number; now?: () => number } = {}) {
    this.reporters = [...reporters];
    this.gate = new ProgressGate(opts.minProgressIntervalMs ?? 100);
    this.now = opts.now ?? Date.now;
  }

  emit(input: RunEventInput): void {
    const event = { ...input, time: this.now() } as RunEvent;
    if (event.type === 'stage:progress' && !this.gate.admit(event)) return;
    for (const reporter of [...this.reporters]) {
      try {
        const result = reporter.onEvent(event);
        if (result instanceof Promise) result.catch((error) => this.drop(reporter, error));
      } catch (error) {
        this.drop(reporter, error);
      }
    }
  }

  async close(): Promise<void> {
    for (const reporter of this.reporters) {
      try {
        await reporter.close?.();
      } catch {
        // closing is best effort
      }
    }
  }

  private drop(reporter: Reporter, error: unknown): void {
    this.reporters = this.reporters.filter((r) => r !== reporter);
    this.emit({
      type: 'stage:log',
      level: 'warn',
      text: `a reporter failed and was removed: ${(error as Error)?.message ?? error}`,
    });
  }
}

export function emptyCounts(): Record<StageStatus, number> {
  return { success: 0, cached: 0, failure: 0, skipped: 0 };
}
