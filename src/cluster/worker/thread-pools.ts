import { unpackDataset } from '../../artifacts/dataset.ts';
import { type Partition, unpackPartition } from '../../artifacts/partition.ts';
import type { BackendChoice } from '../../ml/backends/backend.ts';
import { buildModel, type ModelName } from '../../ml/models/index.ts';
import type { ModelDef } from '../../ml/models/model.ts';
import { createThreadRunner, trainingSet } from '../../ml/runners/thread-runner.ts';
import type { ClientRunner } from '../../ml/train/job.ts';
import type { ClientJobPayload } from '../protocol.ts';
import type { ArtifactCache } from './artifact-cache.ts';

/** The trainer threads for one dataset, partition and model, shared by the jobs that train on them. */
export interface TrainerPool {
  key: string;
  model: ModelDef;
  runner: ClientRunner;
  partition: Partition;
  users: number;
  lastUsed: number;
}

/**
 * A worker's trainer threads, one set per dataset in use, at most `keep` sets: the least recently used idle set
 * is retired. A set holds only data (the images, the labels): everything a job trains with comes with the job.
 */
export class TrainerPools {
  private readonly pools = new Map<string, Promise<TrainerPool>>();
  private readonly opts: { backend: BackendChoice; threads: number; cache: ArtifactCache; keep?: number };

  constructor(opts: { backend: BackendChoice; threads: number; cache: ArtifactCache; keep?: number }) {
    this.opts = opts;
  }

  /** The pool for a job, made on first use; the caller holds it with `users` while training. */
  for(p: ClientJobPayload): Promise<TrainerPool> {
    const key = `${p.dataset}:${p.partition}:${p.model.name}:${p.model.classes}`;
    let pool = this.pools.get(key);
    if (!pool) {
      pool = this.make(key, p);
      this.pools.set(key, pool);
      pool.catch(() => this.pools.delete(key));
      void this.retireIdle(key);
    }
    return pool;
  }

  private async make(key: string, p: ClientJobPayload): Promise<TrainerPool> {
    const ds = unpackDataset(await this.opts.cache.bytes(p.dataset, 'dataset'));
    const partition = unpackPartition(await this.opts.cache.bytes(p.partition, 'partition'));
    const model = buildModel(p.model.name as ModelName, p.model.classes, p.model.inputShape);
    const { runner } = await createThreadRunner({
      backend: this.opts.backend,
      threads: this.opts.threads,
      model,
      ...trainingSet(ds, partition),
    });
    return { key, model, runner, partition, users: 0, lastUsed: Date.now() };
  }

  private async retireIdle(keep: string): Promise<void> {
    const limit = this.opts.keep ?? 2;
    if (this.pools.size <= limit) return;
    const idle = (await Promise.all([...this.pools.values()].map((p) => p.catch(() => undefined)))).filter(
      (p): p is TrainerPool => !!p && p.key !== keep && p.users === 0,
    );
    idle.sort((a, b) => a.lastUsed - b.lastUsed);
    for (const p of idle.slice(0, this.pools.size - limit)) {
      this.pools.delete(p.key);
      await p.runner.close();
    }
  }

  async closeAll(): Promise<void> {
    for (const pool of this.pools.values()) await (await pool.catch(() => undefined))?.runner.close();
    this.pools.clear();
  }
}
