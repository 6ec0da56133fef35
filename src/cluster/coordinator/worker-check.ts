import type { Redis } from 'ioredis';
import { FedauError } from '../../core/errors.ts';
import type { QueueName } from '../protocol.ts';
import { listWorkers, refusals } from '../registry.ts';

/** How long jobs may wait while no worker at all is alive before the run gives up on them. */
const NO_WORKER_MS = () => Number(process.env.FEDAU_NO_WORKER_MS ?? 120_000);

/**
 * Whether a run's waiting jobs can still be taken. A worker whose facts differ from the coordinator's refuses them:
 * worth a warning while another can take them. With no worker able to (all refuse; none alive, or none listening on
 * a queue a job waits in, for NO_WORKER_MS), the jobs would wait forever: they fail, saying why.
 */
export class WorkerCheck {
  private readonly warned = new Set<string>();
  private since?: number;
  private readonly x: {
    redis: Redis;
    label: string;
    banned: Map<string, string>;
    listeners(queue: QueueName): Promise<number>;
    log(level: 'info' | 'warn', text: string): void;
  };

  constructor(x: WorkerCheck['x']) {
    this.x = x;
  }

  reset(): void {
    this.since = undefined;
  }

  /** The error the waiting jobs fail with, or undefined while they may still be taken. */
  async check(runId: string, queues: Set<QueueName>): Promise<FedauError | undefined> {
    const refused = await refusals(this.x.redis, runId);
    for (const [worker, why] of Object.entries(refused)) {
      if (this.warned.has(worker)) continue;
      this.warned.add(worker);
      this.x.log('warn', `worker ${worker} refused this run's jobs: ${why}`);
    }
    const workers = await listWorkers(this.x.redis);
    const able = workers.filter((w) => !refused[w.id] && !this.x.banned.has(w.id));
    // Someone must also be listening on each queue a job waits in (a worker alive in the registry may not be).
    let listened = true;
    for (const queue of queues) listened &&= (await this.x.listeners(queue)) > 0;
    if (able.length && listened) {
      this.reset();
      return undefined;
    }
    const entries = Object.entries(refused);
    if (entries.length && workers.length) {
      const list = entries.map(([w, why]) => `worker ${w}: ${why}`).join('; ');
      return new FedauError('FEDAU_STAGE_FAILED', `no connected worker can run this run's jobs: ${list}`, {
        hint: 'start workers with the same fedau version, tfjs version and backend (fedau worker --backend ...)',
      });
    }
    this.since ??= Date.now();
    if (Date.now() - this.since <= NO_WORKER_MS()) return undefined;
    const s = Math.round(NO_WORKER_MS() / 1000);
    return new FedauError(
      'FEDAU_STAGE_FAILED',
      `no fedau worker able to take this run's jobs has been alive for ${s} s`,
      {
        hint: `start one (\`fedau worker --redis ${this.x.label}\`), then rerun the pipeline: it resumes`,
      },
    );
  }
}
