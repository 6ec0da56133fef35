import type { Dataset } from '../artifacts/dataset.ts';
import type { TrainingRecipe } from '../artifacts/federation.ts';
import type { Partition } from '../artifacts/partition.ts';
import { DataError } from '../core/errors.ts';
import type { StageContext } from '../engine/stage.ts';
import { type BackendChoice, backendDescription, chooseBackend, initBackend } from '../ml/backends/backend.ts';
import { WASM_MAX_BATCH } from '../ml/cost.ts';
import { type EvalSets, makeEvalSets } from '../ml/eval/eval-sets.ts';
import { localPredictor, type Predictor } from '../ml/eval/predict.ts';
import { buildModel, type ModelName } from '../ml/models/index.ts';
import type { ModelDef } from '../ml/models/model.ts';
import { createThreadRunner, trainingSet } from '../ml/runners/thread-runner.ts';
import type { ClientRunner } from '../ml/train/job.ts';
import { type RemoteRunner, trainingServices } from './services.ts';

/** What of a stage's context a training uses. */
export type TrainingContext = Pick<
  StageContext,
  'runId' | 'stageId' | 'key' | 'inputs' | 'checkpointDir' | 'signal' | 'readArtifact' | 'progress' | 'log' | 'services'
> &
  Partial<Pick<StageContext, 'setProvenance'>>;

/**
 * What a stage's federated training runs on, set up once: the model, the backend (its tfjs resolved in this
 * thread), the evaluation sets, and the runner that trains clients (this machine's trainer threads, or a cluster's
 * workers, as the run's services say). The round loop and what is trained come from `train` (session-train.ts).
 */
export class FederatedSession {
  readonly model: ModelDef;
  readonly choice: BackendChoice;
  readonly tf: Awaited<ReturnType<typeof initBackend>>;
  readonly sets: EvalSets;
  readonly runner: ClientRunner;
  /** Computes the per-round evaluation's logits: on the trainer threads when there are several, else here. */
  readonly predict: Predictor;
  /** Where clients train, in words for the log. */
  readonly where: string;
  /** Which machine takes which client now (a cluster), for the live view. */
  readonly assigned: Map<number, string>;
  private readonly remote?: RemoteRunner;
  private readonly closeLocal: () => Promise<void>;

  private constructor(x: {
    model: ModelDef;
    choice: BackendChoice;
    tf: Awaited<ReturnType<typeof initBackend>>;
    sets: EvalSets;
    runner: ClientRunner;
    predict: Predictor;
    where: string;
    assigned: Map<number, string>;
    remote?: RemoteRunner;
    closeLocal: () => Promise<void>;
  }) {
    this.model = x.model;
    this.choice = x.choice;
    this.tf = x.tf;
    this.sets = x.sets;
    this.runner = x.runner;
    this.predict = x.predict;
    this.where = x.where;
    this.assigned = x.assigned;
    this.remote = x.remote;
    this.closeLocal = x.closeLocal;
  }

  /** The backend with its adapter, as records and reports name it. */
  get backend(): string {
    return backendDescription(this.choice);
  }

  static async open(
    ctx: TrainingContext,
    opts: { ds: Dataset; partition: Partition } & Pick<TrainingRecipe, 'model' | 'batchSize'>,
  ): Promise<FederatedSession> {
    const { ds, partition } = opts;
    const model = buildModel(opts.model as ModelName, ds.header.classes, [
      ds.header.height,
      ds.header.width,
      ds.header.channels,
    ]);
    const services = trainingServices(ctx.services);
    const choice = await chooseBackend(services.backend);
    checkWasmBatch(ctx.stageId, model.name as ModelName, choice.name, opts.batchSize);
    const tf = await initBackend(choice);
    const data = trainingSet(ds, partition);
    // On a cluster, this process computes only the answers it verifies or replaces: one thread is enough.
    let here: ReturnType<typeof createThreadRunner> | undefined;
    const threads = services.runners ? 1 : services.threads;
    const local = () => (here ??= createThreadRunner({ backend: choice, threads, model, ...data }));
    const assigned = new Map<number, string>();
    const remote = services.runners
      ? await services.runners(
          {
            runId: ctx.runId,
            stage: ctx.stageId,
            key: ctx.key,
            model,
            backend: choice,
            dataset: ctx.inputs.dataset,
            partition: ctx.inputs.partition,
            forget: partition.forget,
            read: ctx.readArtifact,
            log: ctx.log,
            onAssigned: (client, worker) => assigned.set(client, worker),
          },
          async () => (await local()).runner,
        )
      : undefined;
    const threaded = remote ? undefined : await local();
    return new FederatedSession({
      model,
      assigned,
      choice,
      tf,
      sets: makeEvalSets(ds, partition),
      runner: remote ?? threaded!.runner,
      predict: threaded?.runner.predict ?? localPredictor(tf, model),
      where: remote?.describe ?? `${threaded!.threads} trainer thread${threaded!.threads === 1 ? '' : 's'}`,
      remote,
      closeLocal: async () => {
        if (here) await (await here).runner.close();
      },
    });
  }

  /** Who computed what, when a cluster did (for the run record). */
  provenance(): object | undefined {
    return this.remote?.provenance();
  }

  async close(): Promise<void> {
    if (this.remote) await this.remote.close();
    await this.closeLocal();
  }
}

/** ResNet18 at the reference's batch does not fit the wasm heap: say so before any work, with the way out. */
function checkWasmBatch(stageId: string, model: ModelName, backend: string, batchSize: number): void {
  const maxBatch = WASM_MAX_BATCH[model];
  if (backend !== 'wasm' || maxBatch === undefined || batchSize <= maxBatch) return;
  throw new DataError(
    `${model} at batch ${batchSize} does not fit in the wasm backend's 4 GB heap (at most ${maxBatch})`,
    {
      path: `stages.${stageId}.with.batchSize`,
      expected: `batchSize ≤ ${maxBatch} on wasm`,
      got: String(batchSize),
      hint:
        'run it on a GPU (--backend webgpu or --backend tensorflow, README "GPUs"), ' +
        `or on the CPU with --set ${stageId}.batchSize=${maxBatch}`,
    },
  );
}
