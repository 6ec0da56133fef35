import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { unpackContainer } from '../artifacts/container.ts';
import type { RoundRecord } from '../artifacts/history.ts';
import { packTrace, type TraceHeader, traceSection } from '../artifacts/trace.ts';
import { DataError } from '../core/errors.ts';
import { sha256 } from '../core/hash.ts';
import type { EvalSets } from '../ml/eval/eval-sets.ts';

/** The trace artifact, from the per-round files the evaluated rounds left in the checkpoint folder. */
export async function assembleTrace(
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
