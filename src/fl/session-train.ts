import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { RoundRecord } from '../artifacts/history.ts';
import type { UnlearnMode } from '../artifacts/partition.ts';
import type { ClientResult } from '../ml/train/job.ts';
import { loadCheckpoint, saveCheckpoint } from './checkpoint.ts';
import { runRounds, TrainingRestart, type TrainState } from './federation.ts';
import { type RecordOptions, RoundRecorder } from './recording.ts';
import { roundEvaluator } from './round-evaluator.ts';
import type { FederatedSession, TrainingContext } from './session.ts';
import type { Strategy } from './strategy.ts';
import { assembleTrace } from './trace-files.ts';

export interface TrainRequest {
  strategy: Strategy;
  /** Where training starts when no checkpoint of this stage key is left (round 0, or a given model). */
  start: TrainState;
  rounds: number;
  evalEvery: number;
  /** The forget metric's meaning and the heads whose logits go to the trace (none: no trace, no preview). */
  mode: UnlearnMode;
  traceHeads?: number[];
  /** What the log's first line says this training is. */
  label: string;
  /** A sub-folder of the stage's checkpoint folder, for a stage that trains more than once. */
  checkpointName?: string;
  /** What to keep of every round for the methods that need the training's past (design §7). */
  record?: RecordOptions;
  /** Seconds of a round's client work that a method adds to training (FedAU: the auxiliary heads), summed. */
  extraSeconds?: (results: ClientResult[]) => number;
}

/**
 * Runs a strategy's rounds on a session: resumed from the stage key's last intact checkpoint, checkpointed after
 * every round, evaluated every `evalEvery` rounds (the trace of W1 and the listed heads kept beside the checkpoint),
 * with progress for the live view. A runner that finds earlier rounds wrong (a cluster worker caught cheating) makes
 * it start again from where this run started; nothing of those rounds survives in a checkpoint.
 */
export async function trainOnSession(
  ctx: TrainingContext,
  session: FederatedSession,
  req: TrainRequest,
): Promise<{
  final: TrainState;
  trace?: Uint8Array;
  recording?: { bytes: Uint8Array; seconds: number };
  extraSeconds: number;
}> {
  const dir = req.checkpointName ? join(ctx.checkpointDir, req.checkpointName) : ctx.checkpointDir;
  const traceDir = join(dir, 'trace');
  await mkdir(traceDir, { recursive: true });
  ctx.log('info', `${req.label}, model ${session.model.name}, backend ${session.backend}, ${session.where}`);
  const { state0, files } = await resume(ctx, dir, session, req);
  const traceFiles: Record<string, string> = { ...files };
  const heads = req.traceHeads;
  let metrics: Record<string, number> = {};
  const evaluate = roundEvaluator({
    predict: session.predict,
    model: session.model,
    sets: session.sets,
    mode: req.mode,
    headIds: heads ?? [],
    traceDir: heads ? traceDir : undefined,
    onTraceFile: (name, digest) => {
      traceFiles[`trace/${name}`] = digest;
    },
    onMetrics: (m) => {
      metrics = m;
    },
  });
  const progress = progressReporter(ctx, session, req.rounds, () => metrics);
  const recorder = req.record
    ? new RoundRecorder({ ...req.record, rounds: req.rounds, dir, weightOf: req.strategy.weightOf })
    : undefined;
  let before = state0;
  let extraSeconds = 0;
  const hooks = {
    signal: ctx.signal,
    onClient: progress.client,
    onRound: async (state: TrainState, record: RoundRecord, results: ClientResult[]) => {
      if (recorder) {
        const [name, digest] = await recorder.onRound(before, results);
        traceFiles[name] = digest;
      }
      before = state;
      extraSeconds += req.extraSeconds?.(results) ?? 0;
      await saveCheckpoint(dir, state, traceFiles);
      metrics = { ...metrics, loss: record.loss };
      progress.round(record.round, results.length);
    },
  };
  for (;;) {
    try {
      const final = await runRounds({ ...req, runner: session.runner, evaluate, state: state0, hooks });
      const provenance = session.provenance();
      if (provenance) ctx.setProvenance?.(provenance);
      const trace = heads
        ? await assembleTrace(traceDir, final.history, heads, session.sets, session.model.classes, traceFiles)
        : undefined;
      const recording = recorder
        ? { bytes: await recorder.assemble(final, traceFiles), seconds: recorder.seconds }
        : undefined;
      return { final, trace, recording, extraSeconds };
    } catch (error) {
      if (!(error instanceof TrainingRestart)) throw error;
      // What the banned worker answered is in every round since: none of it may survive in a checkpoint.
      ctx.log('warn', `${error.message}: training again from round ${state0.round + 1} without it`);
      for (const k of Object.keys(traceFiles)) if (!(k in files)) delete traceFiles[k];
      before = state0;
      await saveCheckpoint(dir, state0, traceFiles);
      await saveCheckpoint(dir, state0, traceFiles);
    }
  }
}

/** The last intact checkpoint of this training, when it fits; else the given start. */
async function resume(ctx: TrainingContext, dir: string, session: FederatedSession, req: TrainRequest) {
  const loaded = await loadCheckpoint(dir);
  for (const why of loaded.discarded) ctx.log('warn', `a damaged checkpoint was discarded: ${why}`);
  const resumed = loaded.state;
  const usable = resumed && resumed.weights.length === session.model.specs.length && resumed.round <= req.rounds;
  if (usable) ctx.log('info', `resuming from the checkpoint after round ${resumed.round}`);
  else if (loaded.discarded.length) ctx.log('warn', 'no intact checkpoint is left: training starts over');
  return { state0: usable ? resumed : req.start, files: usable ? loaded.files : {} };
}

/** Progress of a training for the live view: rounds, clients, which machine trains what, the latest metrics. */
function progressReporter(
  ctx: TrainingContext,
  session: FederatedSession,
  rounds: number,
  metrics: () => Record<string, number>,
) {
  let perRound = 0;
  let before = 0;
  return {
    client(round: number, done: number, total: number, result: { client: number; worker?: string }) {
      perRound = total;
      ctx.progress({
        step: before + done,
        total: before + total * (rounds - round),
        label:
          `round ${round + 1}/${rounds} · client ${done}/${total}` +
          (result.worker ? ` · ${describeAssignments(result, session.assigned)}` : ''),
        metrics: metrics(),
      });
    },
    round(round: number, clients: number) {
      before += clients;
      ctx.progress({
        step: before,
        total: before + (perRound || clients) * (rounds - round),
        label: `round ${round}/${rounds} done`,
        metrics: metrics(),
      });
    },
  };
}

/** `client 4 from host-12 · training: 5 on host-13, 6 on host-12`: who trained the last client, and who trains what. */
function describeAssignments(last: { client: number; worker?: string }, assigned: Map<number, string>): string {
  assigned.delete(last.client);
  const training = [...assigned].map(([client, worker]) => `${client} on ${worker}`);
  return `client ${last.client} from ${last.worker}${training.length ? ` · training: ${training.join(', ')}` : ''}`;
}
