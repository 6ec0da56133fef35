import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { packContainer, unpackContainer } from '../artifacts/container.ts';
import type { RoundRecord } from '../artifacts/history.ts';
import { writeFileAtomic } from '../engine/fs-atomic.ts';
import type { TrainState } from './federated-training.ts';

interface CheckpointHeader {
  round: number;
  history: RoundRecord[];
  heads: number[];
  params: number;
  seconds: number;
}

const FILE = 'federation.ckpt';

/** Saves the state after a round, atomically: a kill leaves the previous checkpoint or this one, never half. */
export async function saveCheckpoint(dir: string, state: TrainState): Promise<void> {
  const heads = [...state.heads.keys()].sort((a, b) => a - b);
  const sections: Record<string, Float32Array> = {};
  for (const [i, w] of state.weights.entries()) sections[`p${i}`] = w;
  for (const k of heads) {
    sections[`w2:${k}`] = state.heads.get(k)!.weight;
    sections[`b2:${k}`] = state.heads.get(k)!.bias;
  }
  const header: CheckpointHeader = {
    round: state.round,
    history: state.history,
    heads,
    params: state.weights.length,
    seconds: state.seconds,
  };
  await writeFileAtomic(join(dir, FILE), packContainer('checkpoint', header, sections), dir);
}

/** The last saved state, or undefined when there is none (or it cannot be read: training then starts over). */
export async function loadCheckpoint(dir: string): Promise<TrainState | undefined> {
  let bytes: Buffer;
  try {
    bytes = await readFile(join(dir, FILE));
  } catch {
    return undefined;
  }
  try {
    const { header, sections } = unpackContainer<CheckpointHeader>(
      new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength),
      'checkpoint',
    );
    const weights = Array.from(
      { length: header.params },
      (_, i) => new Float32Array(sections[`p${i}`] as Float32Array),
    );
    const heads = new Map(
      header.heads.map((k) => [
        k,
        {
          weight: new Float32Array(sections[`w2:${k}`] as Float32Array),
          bias: new Float32Array(sections[`b2:${k}`] as Float32Array),
        },
      ]),
    );
    return { round: header.round, weights, heads, history: header.history, seconds: header.seconds ?? 0 };
  } catch {
    return undefined;
  }
}
