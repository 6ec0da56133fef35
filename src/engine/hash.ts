import { createHash } from 'node:crypto';

/**
 * Canonical JSON: object keys sorted at every depth, `undefined` members dropped,
 * non-finite numbers refused (JSON would silently turn them into null and two
 * different params would share a key).
 */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(canonicalize(value, '$'));
}

function canonicalize(value: unknown, path: string): unknown {
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return value;
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new TypeError(`cannot hash non-finite number at ${path}: ${value}`);
    return value;
  }
  if (Array.isArray(value)) return value.map((v, i) => (v === undefined ? null : canonicalize(v, `${path}[${i}]`)));
  if (typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(value as object).sort()) {
      const v = (value as Record<string, unknown>)[key];
      if (v !== undefined) out[key] = canonicalize(v, `${path}.${key}`);
    }
    return out;
  }
  throw new TypeError(`cannot hash a ${typeof value} at ${path}`);
}

export function sha256(data: string | Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

/** Everything that decides a stage's outputs. Stage id, paths, reporter and time are deliberately absent. */
export interface KeyParts {
  cacheFormat: number;
  kind: string;
  version: number;
  params: Record<string, unknown>;
  /** input name → artifact digest */
  inputs: Record<string, string>;
  seed: number;
  /** Facts of the machine that change results (tfjs version and backend), only for stages that use tfjs. */
  runtime?: Record<string, string | number>;
}

/** Bumped when the key recipe or the record format changes engine-wide. */
export const CACHE_FORMAT = 1;

export function stageKey(parts: KeyParts): string {
  return sha256(canonicalJson(parts));
}

/** A 32-bit seed for a stage, derived from the pipeline seed and the stage kind (not its id, so renames keep the cache). */
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
