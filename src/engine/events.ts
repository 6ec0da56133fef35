import type { SerializedError } from '../core/errors.ts';
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
      /** How the run computes, in a few words, as whoever runs it says. */
      runtime?: string;
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

/** What the hub does when a reporter throws: how to tell the user, and what to show the run with instead. */
export interface ReporterFailurePolicy {
  /** Called once per failed reporter, with a one-line explanation (the CLI writes it to stderr). */
  warn(text: string): void;
  /** A reporter to carry on with (the CLI's plain one); it is first shown the run's events so far. */
  fallback?(): Reporter;
}

/**
 * Fans events out to reporters. A reporter that throws (now or asynchronously) is removed; the failure policy
 * says so once and can put a fallback reporter in its place, which first replays the events it missed (progress
 * aside), so a broken UI never hides a run or breaks it. Progress is capped per stage so a fast loop cannot flood
 * the terminal; the last step of a stage (step === total) and new metrics always get through.
 */
export class ReporterHub {
  private reporters: Reporter[];
  private readonly gate: ProgressGate;
  private readonly now: () => number;
  private readonly onFailure?: ReporterFailurePolicy;
  /** Every event but progress, for a fallback reporter that joins mid-run. */
  private readonly replay: RunEvent[] = [];
  /** Warnings about failed reporters, told to the others once the current event has reached them all. */
  private pendingWarnings: string[] = [];

  constructor(
    reporters: Reporter[],
    opts: { minProgressIntervalMs?: number; now?: () => number; onFailure?: ReporterFailurePolicy } = {},
  ) {
    this.reporters = [...reporters];
    this.gate = new ProgressGate(opts.minProgressIntervalMs ?? 100);
    this.now = opts.now ?? Date.now;
    this.onFailure = opts.onFailure;
  }

  emit(input: RunEventInput): void {
    const event = { ...input, time: this.now() } as RunEvent;
    if (event.type === 'stage:progress' && !this.gate.admit(event)) return;
    if (event.type !== 'stage:progress') this.replay.push(event);
    for (const reporter of [...this.reporters]) this.deliver(reporter, event);
    const warnings = this.pendingWarnings;
    this.pendingWarnings = [];
    for (const text of warnings) this.emit({ type: 'stage:log', level: 'warn', text });
  }

  async close(): Promise<void> {
    for (const reporter of [...this.reporters]) {
      try {
        await reporter.close?.();
      } catch (error) {
        // A reporter that fails while closing (the UI's last frame) still gets its fallback, which then shows
        // the whole run.
        this.fail(reporter, error);
        await this.reporters.at(-1)?.close?.();
      }
    }
  }

  private deliver(reporter: Reporter, event: RunEvent): void {
    try {
      const result = reporter.onEvent(event);
      if (result instanceof Promise) result.catch((error) => this.fail(reporter, error));
    } catch (error) {
      this.fail(reporter, error);
    }
  }

  private fail(reporter: Reporter, error: unknown): void {
    if (!this.reporters.includes(reporter)) return;
    this.reporters = this.reporters.filter((r) => r !== reporter);
    const message = (error as Error)?.message ?? String(error);
    const fallback = this.onFailure?.fallback?.();
    const warn = this.onFailure?.warn ?? ((text: string) => this.pendingWarnings.push(text));
    warn(
      `the ${reporterName(reporter)} reporter failed (${message})` +
        (fallback ? `; carrying on with the ${reporterName(fallback)} one` : ''),
    );
    if (fallback) {
      this.reporters.push(fallback);
      for (const past of this.replay) this.deliver(fallback, past);
    }
  }
}

/** `InkReporter` → `ink`; a reporter made as a plain object is `custom`. */
function reporterName(reporter: Reporter): string {
  const name = reporter.constructor?.name;
  return name && name !== 'Object' ? name.replace(/Reporter$/, '').toLowerCase() : 'custom';
}

export function emptyCounts(): Record<StageStatus, number> {
  return { success: 0, cached: 0, failure: 0, skipped: 0 };
}
