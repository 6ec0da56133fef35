import { join } from 'node:path';
import { execa, type ResultPromise } from 'execa';
import { expect } from 'vitest';
import { BIN, parseEvents, ROOT } from './cli.ts';
import { tempDir } from './run-inline.ts';

export const SMOKE = join(ROOT, 'pipelines/smoke.yaml');

/** Every output digest of a run, from its json events, by stage and output (the report, with timings, aside). */
export function digests(stdout: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const e of parseEvents(stdout)) {
    if ((e.type === 'stage:end' && e.status === 'success') || e.type === 'stage:cached') {
      for (const [name, ref] of Object.entries(e.outputs as Record<string, { digest: string }>)) {
        if (name !== 'report') out[`${e.stageId}.${name}`] = ref.digest;
      }
    }
  }
  return out;
}

/** The shipped CLI in its own process, as a user runs it (CI=1: no live view). */
export function fedau(args: string[], env: Record<string, string> = {}): ResultPromise<{ reject: false }> {
  return execa('node', [BIN, ...args], { env: { CI: '1', ...env }, reject: false });
}

export const newStore = async () => join(await tempDir(), 'store');

const references = new Map<string, Promise<{ digests: Record<string, string>; keys: Record<string, string> }>>();

/** smoke.yaml (with these --set/--matrix arguments) run locally, once per set of arguments: digests and keys. */
export function localRun(args: string[] = []) {
  const id = args.join(' ');
  if (!references.has(id)) {
    references.set(
      id,
      (async () => {
        const r = await fedau(['run', SMOKE, '--reporter', 'json', '--store', await newStore(), ...args]);
        expect(r.exitCode, r.stderr).toBe(0);
        const keys: Record<string, string> = {};
        for (const e of parseEvents(r.stdout)) if (e.type === 'stage:start') keys[e.stageId] = e.key;
        return { digests: digests(r.stdout), keys };
      })(),
    );
  }
  return references.get(id)!;
}

/** The digests of smoke.yaml (with these arguments) run locally. */
export async function localDigests(args: string[] = []): Promise<Record<string, string>> {
  return (await localRun(args)).digests;
}

/** `--set a=b` pairs from a list of assignments. */
export const sets = (assignments: string[]) => assignments.flatMap((s) => ['--set', s]);
