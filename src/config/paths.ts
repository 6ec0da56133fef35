import { ConfigError } from '../core/errors.ts';

/** Names that reach an object's prototype instead of a key of the pipeline: never a stage, param or value path. */
const PROTOTYPE_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

/** Refuses a `--set`/`--matrix` path that names a prototype key, in one clear error. */
export function checkPathSegments(segments: string[], flag: string, expr: string): void {
  const bad = segments.find((s) => PROTOTYPE_KEYS.has(s));
  if (bad === undefined) return;
  throw new ConfigError('FEDAU_USAGE', `${flag} names "${bad}", which is not a stage, a param or a top-level key`, {
    file: `${flag} ${expr}`,
    expected: '<stage>.<param>[.<key>...]=<value>, or a top-level key',
    got: segments.join('.'),
    hint: 'e.g. --set train.rounds=5; `fedau stages <kind>` lists the params of a stage kind',
  });
}
