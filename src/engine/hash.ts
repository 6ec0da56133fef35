import { canonicalJson, sha256 } from '../core/hash.ts';

/** Everything that decides a stage's outputs. Stage id, paths, reporter and time are deliberately absent. */
export interface KeyParts {
  cacheFormat: number;
  kind: string;
  version: number;
  params: Record<string, unknown>;
  /** input name → artifact digest */
  inputs: Record<string, string>;
  /** The stage's derived seed; absent for a stage that declares it draws no random numbers. */
  seed?: number;
  /** Facts of the machine that change the stage's results, as the stage declares them (`runtimeKey`). */
  runtime?: Record<string, string | number>;
}

/** Bumped when the key recipe or the record format changes engine-wide. */
export const CACHE_FORMAT = 1;

export function stageKey(parts: KeyParts): string {
  return sha256(canonicalJson(parts));
}

/**
 * A 32-bit seed for a stage, derived from the pipeline seed and the stage kind (not its id, so renames keep the
 * cache).
 */
export function deriveSeed(pipelineSeed: number, kind: string): number {
  return parseInt(sha256(`fedau-seed:${pipelineSeed}:${kind}`).slice(0, 8), 16) >>> 0;
}

/** Differences between two key-part objects as `path: old → new` lines, for `fedau plan`. */
export function diffKeyParts(before: unknown, after: unknown, path = ''): string[] {
  if (canonicalJson(before ?? null) === canonicalJson(after ?? null)) return [];
  const isObj = (v: unknown) => v !== null && typeof v === 'object' && !Array.isArray(v);
  if (isObj(before) && isObj(after)) {
    const b = before as Record<string, unknown>;
    const a = after as Record<string, unknown>;
    const keys = [...new Set([...Object.keys(b), ...Object.keys(a)])].sort();
    return keys.flatMap((k) => diffKeyParts(b[k], a[k], path ? `${path}.${k}` : k));
  }
  const show = (v: unknown) =>
    v === undefined ? '(unset)' : typeof v === 'string' && v.length === 64 ? v.slice(0, 12) : JSON.stringify(v);
  return [`${path}: ${show(before)} → ${show(after)}`];
}
