import { formatError } from '../core/errors.ts';
import type { Reporter, RunEvent } from '../engine/events.ts';
import { ProgressGate } from '../engine/progress-gate.ts';
import { formatDuration, formatMetrics, summarizeCounts } from './run-view-state.ts';

/**
 * One line per event, for CI logs and pipes. Progress lines are further limited to one per
 * `progressEveryMs` per stage (and the final step), so a long training does not flood a log.
 */
export class PlainReporter implements Reporter {
  private readonly gate: ProgressGate;
  private readonly write: (line: string) => void;
  private readonly verbose: boolean;

  constructor(opts: { write?: (line: string) => void; progressEveryMs?: number; verbose?: boolean } = {}) {
    this.write = opts.write ?? ((line) => process.stdout.write(`${line}\n`));
    this.gate = new ProgressGate(opts.progressEveryMs ?? 2000);
    this.verbose = opts.verbose ?? false;
  }

  onEvent(e: RunEvent): void {
    switch (e.type) {
      case 'run:start':
        this.write(
          `[run] ${e.pipeline}: ${e.stages.length} stages${e.runtime ? `, ${e.runtime}` : ''} (run ${e.runId})`,
        );
        break;
      case 'stage:cached':
        this.write(`[${e.stageId}] cached (key ${e.key.slice(0, 12)})`);
        break;
      case 'stage:start':
        this.write(`[${e.stageId}] running: ${e.reason}`);
        break;
      case 'stage:progress': {
        if (!this.gate.admit(e)) return;
        const metrics = formatMetrics(e.metrics);
        const where = e.label ?? (e.total !== undefined ? `step ${e.step}/${e.total}` : `step ${e.step}`);
        this.write(`[${e.stageId}] ${where}${metrics ? `  ${metrics}` : ''}`);
        break;
      }
      case 'stage:log':
        if (e.level !== 'debug' || this.verbose)
          this.write(`[${e.stageId ?? 'run'}] ${e.level === 'warn' ? 'warning: ' : ''}${e.text}`);
        break;
      case 'stage:end':
        if (e.status === 'success') this.write(`[${e.stageId}] done in ${formatDuration(e.durationMs)}`);
        else
          this.write(
            `[${e.stageId}] failed after ${formatDuration(e.durationMs)}\n` +
              (e.error ? formatError(e.error, { verbose: this.verbose }) : ''),
          );
        break;
      case 'stage:skipped':
        this.write(
          `[${e.stageId}] skipped: ${e.reason === 'interrupted' ? 'interrupted' : `upstream "${e.because}" failed`}`,
        );
        break;
      case 'run:end':
        this.write(`[run] ${e.status}: ${summarizeCounts(e.counts)} in ${formatDuration(e.durationMs)}`);
        break;
      case 'stage:queued':
        break;
    }
  }
}
