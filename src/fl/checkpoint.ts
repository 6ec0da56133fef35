import { createHash } from 'node:crypto';
import { readFile, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { packContainer, unpackContainer } from '../artifacts/container.ts';
import type { RoundRecord } from '../artifacts/history.ts';
import { writeFileAtomic } from '../core/fs-atomic.ts';
import type { TrainState } from './federation.ts';

interface CheckpointHeader {
  round: number;
  history: RoundRecord[];
  heads: number[];
  params: number;
  seconds: number;
  /** SHA-256 of each per-round file the training wrote beside the checkpoint (the trace), by file name. */
  files?: Record<string, string>;
}

/** What a checkpoint attests besides the state: the per-round files written so far, by name, with their digests. */
export type CheckpointFiles = Record<string, string>;

const FILE = 'federation.ckpt';
const PREVIOUS = 'federation.prev.ckpt';
/** Appended to every checkpoint: the SHA-256 of the bytes before it, then this tag. */
const TAG = new TextEncoder().encode('FEDAUSUM');

const digestOf = (bytes: Uint8Array) => new Uint8Array(createHash('sha256').update(bytes).digest());

/**
 * Saves the state after a round, atomically and with a digest: a kill leaves the previous checkpoint or this one,
 * never half, and a checkpoint changed on disk afterwards is recognised. The one before is kept, to resume from
 * when the latest is damaged.
 */
export async function saveCheckpoint(dir: string, state: TrainState, files: CheckpointFiles = {}): Promise<void> {
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
    files,
  };
  const body = packContainer('checkpoint', header, sections);
  const out = new Uint8Array(body.length + 32 + TAG.length);
  out.set(body);
  out.set(digestOf(body), body.length);
  out.set(TAG, body.length + 32);
  await rename(join(dir, FILE), join(dir, PREVIOUS)).catch(() => undefined);
  await writeFileAtomic(join(dir, FILE), out, dir);
}

export interface LoadedCheckpoint {
  state?: TrainState;
  /** The per-round files the loaded checkpoint attests (checked intact). */
  files: CheckpointFiles;
  /** Each checkpoint found damaged and passed over, in words for the user. */
  discarded: string[];
}

/**
 * The latest checkpoint that is intact, with every per-round file it attests intact too: the last one, else the
 * one before; none when neither is (training then starts over).
 */
export async function loadCheckpoint(dir: string): Promise<LoadedCheckpoint> {
  const discarded: string[] = [];
  for (const name of [FILE, PREVIOUS]) {
    let bytes: Uint8Array;
    try {
      bytes = new Uint8Array(await readFile(join(dir, name)));
    } catch {
      continue;
    }
    const problem = await checkpointProblem(dir, bytes);
    if (problem) {
      discarded.push(`${name}: ${problem}`);
      continue;
    }
    const body = bytes.subarray(0, bytes.length - 32 - TAG.length);
    const files = unpackContainer<CheckpointHeader>(body, 'checkpoint').header.files ?? {};
    return { state: decode(body), files, discarded };
  }
  return { files: {}, discarded };
}

async function checkpointProblem(dir: string, bytes: Uint8Array): Promise<string | undefined> {
  const end = bytes.length - TAG.length;
  if (end < 32 || !bytes.subarray(end).every((b, i) => b === TAG[i])) return 'it has no digest (damaged or cut)';
  const body = bytes.subarray(0, end - 32);
  if (!digestOf(body).every((b, i) => b === bytes[end - 32 + i])) return 'its bytes do not match its digest';
  let header: CheckpointHeader;
  try {
    header = unpackContainer<CheckpointHeader>(body, 'checkpoint').header;
  } catch (error) {
    return `it cannot be read (${(error as Error).message})`;
  }
  for (const [file, digest] of Object.entries(header.files ?? {})) {
    const content = await readFile(join(dir, file)).catch(() => undefined);
    if (!content) return `${file}, written with it, is missing`;
    if (createHash('sha256').update(content).digest('hex') !== digest) return `${file}, written with it, is damaged`;
  }
  return undefined;
}

function decode(body: Uint8Array): TrainState {
  const { header, sections } = unpackContainer<CheckpointHeader>(body, 'checkpoint');
  const weights = Array.from({ length: header.params }, (_, i) => new Float32Array(sections[`p${i}`] as Float32Array));
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
}
