/**
 * Which progress events of a stage get through a rate limit: the last step (step ≥ total) and any event with
 * new metrics (a round's evaluation) always do; others at most once per `intervalMs` per stage. The event hub
 * uses it to protect every reporter, the plain reporter again with a longer interval to keep CI logs short.
 */
export class ProgressGate {
  private readonly lastTime = new Map<string, number>();
  private readonly lastMetrics = new Map<string, string>();
  private readonly intervalMs: number;

  constructor(intervalMs: number) {
    this.intervalMs = intervalMs;
  }

  admit(e: { stageId: string; step: number; total?: number; metrics?: Record<string, number>; time: number }): boolean {
    const final = e.total !== undefined && e.step >= e.total;
    const metrics = e.metrics && Object.keys(e.metrics).length ? JSON.stringify(e.metrics) : '';
    const fresh = metrics !== '' && metrics !== this.lastMetrics.get(e.stageId);
    if (!final && !fresh && e.time - (this.lastTime.get(e.stageId) ?? -Infinity) < this.intervalMs) return false;
    this.lastTime.set(e.stageId, e.time);
    this.lastMetrics.set(e.stageId, metrics);
    return true;
  }
}
