import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { packContainer, unpackContainer } from '../../src/artifacts/container.ts';
import { type Dataset, unpackDataset } from '../../src/artifacts/dataset.ts';
import type { TrainingRecipe } from '../../src/artifacts/federation.ts';
import type { RoundRecord } from '../../src/artifacts/history.ts';
import { type Partition, type UnlearnMode, unpackPartition } from '../../src/artifacts/partition.ts';
import { packTrace, type TraceHeader, traceSection } from '../../src/artifacts/trace.ts';
import { type ClusterHandle, queueClientRunner } from '../../src/cluster/coordinator/index.ts';
import { DataError } from '../../src/core/errors.ts';
import { writeFileAtomic } from '../../src/core/fs-atomic.ts';
import { sha256 } from '../../src/core/hash.ts';
import { packageVersion } from '../../src/core/package-root.ts';
import type { StageContext } from '../../src/engine/stage.ts';
import { backendDescription, chooseBackend, initBackend, tfjsVersion } from '../../src/ml/backends/backend.ts';
import { loadCheckpoint, saveCheckpoint } from '../../src/fl/checkpoint.ts';
import { WASM_MAX_BATCH } from '../../src/ml/cost.ts';
import { type EvalSets, makeEvalSets } from '../../src/ml/eval/eval-sets.ts';
import { metricNames } from '../../src/ml/eval/metric-names.ts';
import { predictLogits } from '../../src/ml/eval/predict.ts';
import { accuracy, argmax } from '../../src/ml/eval/scores.ts';
import { unlearnedLogits } from '../../src/ml/fedau/unlearn-op.ts';
import {
  classifierOf,
  type Evaluator,
  initialState,
  runFederation,
  TrainingRestart,
  type TrainState,
} from '../../src/fl/federation.ts';
import { buildModel, type ModelName } from '../../src/ml/models/index.ts';
import type { ModelDef } from '../../src/ml/models/model.ts';
import { createRunner, trainingSet } from '../../src/ml/runners/thread-runner.ts';

/** The dataset and partition a training stage reads, checked to belong together. */
export async function readTrainingInputs(ctx: StageContext): Promise<{ ds: Dataset; partition: Partition }> {
  const ds = unpackDataset(await ctx.readArtifact(ctx.inputs.dataset));
  const partition = unpackPartition(await ctx.readArtifact(ctx.inputs.partition));
  if (partition.header.trainCount !== ds.header.trainCount) {
    throw new DataError(
      `the partition was made for a training set of ${partition.header.trainCount} images, ` +
        `but the dataset has ${ds.header.trainCount}`,
      { path: `stages.${ctx.stageId}.needs`, hint: 'wire the partition stage to the same dataset stage as this one' },
    );
  }
  return { ds, partition };
}

export interface TrainedFederation {
  model: ModelDef;
  backend: string;
  final: TrainState;
  sets: EvalSets;
  /** FedAU only (not a retrain): the per-round logits of W1 and every W2 on the evaluation sets. */
  trace?: Uint8Array;
}

/** The unlearning the live view previews while training (the `unlearn` stage's defaults). */
const PREVIEW = { alpha: 0.9, rule: 'mix', classScale: 1 } as const;

/**
 * Trains a federation as a stage: FedAU (`retrain: false`), or the retrain-from-scratch baseline replaying the
 * same recipe without the forget set. Resumes from the last finished round's checkpoint, reports progress and
 * live metrics, and evaluates every `evalEvery` rounds.
 */
export async function trainFederationInStage(
  ctx: StageContext,
  opts: { ds: Dataset; partition: Partition; recipe: TrainingRecipe; retrain: boolean },
): Promise<TrainedFederation> {
  const { ds, partition, recipe, retrain } = opts;
  const ph = partition.header;
  const model = buildModel(recipe.model as ModelName, ds.header.classes, [
    ds.header.height,
    ds.header.width,
    ds.header.channels,
  ]);
  const choice = await chooseBackend(ctx.runtime.backend);
  checkWasmBatch(ctx, model.name as ModelName, choice.name, recipe.batchSize);
  const tf = await initBackend(choice);
  const sets = makeEvalSets(ds, partition);
  // Which worker trains which client, for the live view of a cluster run.
  const assigned = new Map<number, string>();
  const cluster = ctx.runtime.cluster as ClusterHandle | undefined;
  let here: Promise<Awaited<ReturnType<typeof createRunner>>> | undefined;
  // On a cluster, this process computes only the answers it verifies or replaces: one thread is enough.
  const localRunner = () =>
    (here ??= createRunner({
      backend: choice,
      workers: cluster ? 1 : ctx.runtime.workers,
      model,
      ...trainingSet(ds, partition),
    }));
  const queued = cluster
    ? await queueClientRunner({
        coordinator: cluster.coordinator,
        runId: ctx.runId,
        stage: ctx.stageId,
        key: ctx.key,
        facts: { fedau: packageVersion(), tfjs: tfjsVersion(), backend: backendDescription(choice) },
        model,
        dataset: ctx.inputs.dataset,
        partition: ctx.inputs.partition,
        forget: partition.forget,
        read: ctx.readArtifact,
        verify: cluster.verify,
        local: async () => (await localRunner()).runner,
        onProgress: (client, p) => {
          assigned.set(client, p.worker);
        },
        onTransport: (t) => {
          const mb = (b: number) => (b / 1e6).toFixed(1);
          const per = Math.max(1, t.rounds);
          ctx.log(
            'info',
            `Redis transport from here: the data once (${mb(t.dataBytes)} MB, kept by the workers), then per round ` +
              `${mb(t.bytesUp / per)} MB up, ${mb(t.bytesDown / per)} MB down, ${(t.seconds / per).toFixed(3)} s`,
          );
        },
      })
    : undefined;
  const runner = queued ? { runner: queued, workers: 0 } : await localRunner();

  ctx.log(
    'info',
    `${retrain ? 'retraining without the forget set: ' : ''}` +
      `model ${model.name}, backend ${backendDescription(choice)}, ` +
      (cluster
        ? `clients trained by the workers of ${cluster.coordinator.label}, `
        : `${runner.workers} worker thread${runner.workers === 1 ? '' : 's'}, `) +
      `${ph.clients} clients` +
      (retrain
        ? `, ${ph.forgetCount} samples left out`
        : ` (unlearning: ${ph.unlearningClients.join(', ') || 'none'})`),
  );
  const loaded = await loadCheckpoint(ctx.checkpointDir);
  for (const why of loaded.discarded) ctx.log('warn', `a damaged checkpoint was discarded: ${why}`);
  const resumed = loaded.state;
  const usable = resumed && resumed.weights.length === model.specs.length && resumed.round <= recipe.rounds;
  if (usable) ctx.log('info', `resuming from the checkpoint after round ${resumed.round}`);
  else if (loaded.discarded.length) ctx.log('warn', 'no intact checkpoint is left: training starts over');
  const state0 = usable ? resumed : initialState(model, partition, recipe.seed, retrain);
  // The per-round trace files written so far, with their digests: each checkpoint attests them.
  const traceFiles: Record<string, string> = usable ? { ...loaded.files } : {};
  const traceDir = join(ctx.checkpointDir, 'trace');
  await mkdir(traceDir, { recursive: true });
  const headIds = retrain ? [] : [...ph.unlearningClients];
  let metrics: Record<string, number> = {};
  const clientsPerRound = Array.from(
    { length: ph.clients },
    (_, k) => partition.offsets[k + 1] - partition.offsets[k],
  ).filter((n) => n > 0).length;
  const step = (round: number, done: number) => round * clientsPerRound + done;

  const evaluate = roundEvaluator({
    tf,
    model,
    sets,
    mode: ph.mode,
    headIds,
    traceDir: retrain ? undefined : traceDir,
    onTraceFile: (name, digest) => {
      traceFiles[`trace/${name}`] = digest;
    },
    onMetrics: (m) => {
      metrics = m;
    },
  });

  const hooks = {
    signal: ctx.signal,
    onClient: (round: number, done: number, total: number, result: { client: number; worker?: string }) =>
      ctx.progress({
        step: step(round, done),
        total: recipe.rounds * clientsPerRound,
        label:
          `round ${round + 1}/${recipe.rounds} · client ${done}/${total}` +
          (result.worker ? ` · ${describeAssignments(result, assigned)}` : ''),
        metrics,
      }),
    onRound: async (state: TrainState, record: RoundRecord) => {
      await saveCheckpoint(ctx.checkpointDir, state, traceFiles);
      metrics = { ...metrics, loss: record.loss };
      ctx.progress({
        step: step(record.round, 0),
        total: recipe.rounds * clientsPerRound,
        label: `round ${record.round}/${recipe.rounds} done`,
        metrics,
      });
    },
  };
  const startFiles = { ...traceFiles };
  try {
    let final: TrainState;
    for (;;) {
      try {
        final = await runFederation({
          model,
          settings: { ...recipe, retrain },
          partition,
          runner: runner.runner,
          state: state0,
          evaluate,
          hooks,
        });
        break;
      } catch (error) {
        if (!(error instanceof TrainingRestart)) throw error;
        // What the banned worker answered is in every round since: none of it may survive in a checkpoint.
        ctx.log('warn', `${error.message}: training again from round ${state0.round + 1} without it`);
        for (const k of Object.keys(traceFiles)) if (!(k in startFiles)) delete traceFiles[k];
        await saveCheckpoint(ctx.checkpointDir, state0, traceFiles);
        await saveCheckpoint(ctx.checkpointDir, state0, traceFiles);
      }
    }
    if (queued && cluster) ctx.setProvenance(queued.provenance.record(cluster.coordinator.banned));
    const trace = retrain
      ? undefined
      : await assembleTrace(traceDir, final.history, headIds, sets, model.classes, traceFiles);
    return { model, backend: backendDescription(choice), final, sets, trace };
  } finally {
    await runner.runner.close();
    if (queued && here) await (await here).runner.close();
  }
}

/**
 * The per-round evaluation of a training: the history's figures (the global model's test accuracy and forget
 * metric), the trace's logits of W1 and every W2 (when `traceDir` is given), and the live view's metrics with a
 * preview of the unlearned model. `npm run bench` times rounds with this same evaluation.
 */
export function roundEvaluator(opts: {
  tf: Awaited<ReturnType<typeof initBackend>>;
  model: ModelDef;
  sets: EvalSets;
  mode: UnlearnMode;
  headIds: number[];
  traceDir?: string;
  /** Told the name and SHA-256 of each trace file written, for the checkpoint to attest. */
  onTraceFile?: (name: string, digest: string) => void;
  onMetrics?: (metrics: Record<string, number>) => void;
}): Evaluator {
  const { model, sets, headIds, traceDir } = opts;
  const names = metricNames(sets.forgetMetric);
  return async (round, weights, heads) => {
    const all = [classifierOf(model, weights), ...headIds.map((k) => heads.get(k)!)];
    const logitsOf = async (set: 'all' | 'forget') => {
      const s = sets[set]!;
      const perHead = await predictLogits(opts.tf, model, weights, all, s);
      return { s, perHead, interleaved: interleave(perHead, s.count, model.classes) };
    };
    const test = await logitsOf('all');
    const forget = sets.forget ? await logitsOf('forget') : undefined;
    const record = {
      testAccuracy: accuracy(argmax(test.perHead[0], model.classes), test.s.expected, sets.testMask),
      ...(forget ? { forget: accuracy(argmax(forget.perHead[0], model.classes), forget.s.expected) } : {}),
    };
    const metrics: Record<string, number> = {
      [names.acc]: record.testAccuracy,
      ...(forget ? { [names.forget]: record.forget! } : {}),
    };
    if (traceDir) {
      const sections: Record<string, Float32Array> = { all: test.interleaved };
      if (forget) sections.forget = forget.interleaved;
      const bytes = packContainer('trace-round', { round }, sections);
      await writeFileAtomic(join(traceDir, `r${round}.bin`), bytes, traceDir);
      opts.onTraceFile?.(`r${round}.bin`, sha256(bytes));
    }
    if (headIds.length) {
      const forgotten = headIds.map((_, j) => j + 1);
      const preview = (t: { interleaved: Float32Array; s: { expected: Int32Array } }, mask?: Uint8Array) => {
        const logits = unlearnedLogits(t.interleaved, all.length, model.classes, forgotten, {
          mode: opts.mode,
          ...PREVIEW,
        });
        return accuracy(argmax(logits, model.classes), t.s.expected, mask);
      };
      metrics[names.unlearnedAcc] = preview(test, sets.testMask);
      if (forget) metrics[names.unlearnedForget] = preview(forget);
    }
    opts.onMetrics?.(metrics);
    return record;
  };
}

/** [head][sample][class] arrays as one [sample][head][class] array: a sample's heads side by side. */
function interleave(perHead: Float32Array[], count: number, classes: number): Float32Array {
  const out = new Float32Array(count * perHead.length * classes);
  for (let i = 0; i < count; i++) {
    perHead.forEach((h, j) => {
      out.set(h.subarray(i * classes, (i + 1) * classes), (i * perHead.length + j) * classes);
    });
  }
  return out;
}

/** The trace artifact, from the per-round files the evaluated rounds left in the checkpoint folder. */
async function assembleTrace(
  dir: string,
  history: RoundRecord[],
  headIds: number[],
  sets: EvalSets,
  classes: number,
  digests: Record<string, string>,
): Promise<Uint8Array> {
  const rounds = history.filter((r) => r.testAccuracy !== undefined).map((r) => r.round);
  const setList = [
    { name: 'all', count: sets.all.count },
    ...(sets.forget ? [{ name: 'forget', count: sets.forget.count }] : []),
  ];
  const logits = new Map<string, Float32Array>();
  for (const round of rounds) {
    const bytes = await readFile(join(dir, `r${round}.bin`));
    // Each file is the one its round wrote: a file changed on disk since is never assembled into a trace.
    if (sha256(bytes) !== digests[`trace/r${round}.bin`]) {
      throw new DataError(`the trace file of round ${round} changed on disk since it was written`, {
        file: join(dir, `r${round}.bin`),
        hint: "delete the stage's checkpoint folder (or run with --force) to train it again",
      });
    }
    const { sections } = unpackContainer(
      new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength),
      'trace-round',
    );
    for (const set of setList) logits.set(traceSection(round, set.name), sections[set.name] as Float32Array);
  }
  const header: TraceHeader = { rounds, heads: ['global', ...headIds.map((k) => `ul:${k}`)], classes, sets: setList };
  return packTrace(header, logits);
}

/** ResNet18 at the reference's batch does not fit the wasm heap: say so before any work, with the way out. */
function checkWasmBatch(ctx: StageContext, model: ModelName, backend: string, batchSize: number): void {
  const maxBatch = WASM_MAX_BATCH[model];
  if (backend !== 'wasm' || maxBatch === undefined || batchSize <= maxBatch) return;
  throw new DataError(
    `${model} at batch ${batchSize} does not fit in the wasm backend's 4 GB heap (at most ${maxBatch})`,
    {
      path: `stages.${ctx.stageId}.with.batchSize`,
      expected: `batchSize ≤ ${maxBatch} on wasm`,
      got: String(batchSize),
      hint:
        'run it on a GPU (--backend webgpu or --backend tensorflow, README "GPUs"), ' +
        `or on the CPU with --set ${ctx.stageId}.batchSize=${maxBatch}`,
    },
  );
}

/** `client 4 ← host-12#… · training: 5 on host-13, 6 on host-12`: who trained the last client, and who trains what. */
function describeAssignments(last: { client: number; worker?: string }, assigned: Map<number, string>): string {
  assigned.delete(last.client);
  const training = [...assigned].map(([client, worker]) => `${client} on ${worker}`);
  return `client ${last.client} from ${last.worker}${training.length ? ` · training: ${training.join(', ')}` : ''}`;
}
