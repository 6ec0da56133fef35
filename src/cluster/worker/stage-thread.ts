// The thread remote stages run in, off the worker's main thread, so that the main thread stays free to renew the
// job's lock with Redis however long a stage computes (a CIFAR evaluation is minutes of CPU). It lives as long as
// the worker (its modules and backend are loaded once) and runs one stage at a time.
import { parentPort } from 'node:worker_threads';
import { stageRegistry } from '../../../stages/index.ts';
import { serializeError } from '../../core/errors.ts';
import { computeHere } from '../../engine/artifact-io.ts';
import type { ArtifactRef, StageDefinition } from '../../engine/stage.ts';
import { makeStageContext } from '../../engine/stage-context.ts';
import { ArtifactStore } from '../../engine/store.ts';

/** What the thread is given: the stage job, checked by the main thread, and where this worker's store is. */
export interface StageThreadInput {
  storeRoot: string;
  workDir: string;
  backend: string;
  threads: number;
  runId: string;
  stage: string;
  kind: string;
  params: Record<string, unknown>;
  seed: number;
  key: string;
  inputs: Record<string, ArtifactRef>;
}

export type StageThreadMessage =
  | { type: 'progress'; step: number; total?: number; label?: string }
  | { type: 'log'; text: string }
  | { type: 'done'; outputs: Record<string, ArtifactRef> }
  | { type: 'error'; error: ReturnType<typeof serializeError> };

const post = (m: StageThreadMessage) => parentPort!.postMessage(m);

async function run(input: StageThreadInput): Promise<void> {
  const def = (stageRegistry as unknown as Record<string, StageDefinition>)[input.kind];
  const store = new ArtifactStore(input.storeRoot);
  const keyParts = {
    cacheFormat: 1,
    kind: input.kind,
    version: def.version,
    params: input.params,
    inputs: {},
    seed: input.seed,
  };
  const ctx = makeStageContext({
    stage: { id: input.stage, kind: input.kind, params: input.params, seed: input.seed },
    runId: input.runId,
    key: input.key,
    keyParts,
    inputs: input.inputs,
    store,
    signal: new AbortController().signal,
    pipeline: { name: `remote ${input.stage}` },
    services: { backend: input.backend, threads: input.threads },
    workDir: input.workDir,
    progress: (u) => post({ type: 'progress', step: u.step, total: u.total, label: u.label }),
    log: (_, text) => post({ type: 'log', text }),
  });
  try {
    post({ type: 'done', outputs: await computeHere(store, def, ctx) });
  } catch (error) {
    post({ type: 'error', error: serializeError(error) });
  }
}

parentPort!.on('message', (input: StageThreadInput) => void run(input));
