import type { WorkerStamp } from '../protocol.ts';

/** What one worker produced for a stage: who it is, how many jobs it answered, how many of them were verified. */
export interface WorkerContribution extends WorkerStamp {
  jobs: number;
  verified: number;
}

/** Which machine produced what of a stage, as its run record keeps it. */
export interface ProvenanceRecord {
  workers: WorkerContribution[];
  /** Jobs computed by the coordinator itself (answers of banned workers, malformed answers). */
  local: number;
  /** Workers banned from the run while this stage ran, with why. */
  banned?: Record<string, string>;
}

export class Provenance {
  private readonly workers = new Map<string, WorkerContribution>();
  private localJobs = 0;

  stamp(w: WorkerStamp): void {
    if (!this.workers.has(w.id)) {
      const { id, host, fedau, tfjs, backend, kernels } = w;
      this.workers.set(w.id, { id, host, fedau, tfjs, backend, kernels, jobs: 0, verified: 0 });
    }
  }
  count(worker: string, verified: boolean): void {
    const w = this.workers.get(worker);
    if (!w) return;
    w.jobs++;
    if (verified) w.verified++;
  }
  uncount(worker: string): void {
    const w = this.workers.get(worker);
    if (w && w.jobs > 0) w.jobs--;
  }
  local(): void {
    this.localJobs++;
  }
  record(banned?: Map<string, string>): ProvenanceRecord {
    const workers = [...this.workers.values()].filter((w) => w.jobs > 0 || banned?.has(w.id));
    workers.sort((a, b) => a.id.localeCompare(b.id));
    return {
      workers,
      local: this.localJobs,
      ...(banned?.size ? { banned: Object.fromEntries(banned) } : {}),
    };
  }
}
