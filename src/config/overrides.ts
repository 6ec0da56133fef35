import { parse as parseYamlValue } from 'yaml';
import { ConfigError, unknownNameHint } from '../core/errors.ts';
import { checkPathSegments } from './paths.ts';

export const TOP_LEVEL = new Set([
  'name',
  'seed',
  'backend',
  'threads',
  'workers',
  'concurrency',
  'verify',
  'description',
]);

/** Applies `--set stage.param=value` (or `--set seed=1`) to a plain pipeline object; returns the overridden paths. */
export function applyOverrides(value: unknown, sets: string[]): Map<string, string> {
  const overridden = new Map<string, string>();
  if (!value || typeof value !== 'object') return overridden;
  // biome-ignore lint/suspicious/noExplicitAny: a plain YAML document, checked by the schema afterwards
  const doc = value as Record<string, any>;
  for (const expr of sets) {
    const eq = expr.indexOf('=');
    if (eq <= 0) {
      throw new ConfigError('FEDAU_USAGE', `--set needs <stage>.<param>=<value>`, {
        file: `--set ${expr}`,
        got: JSON.stringify(expr),
        hint: 'e.g. --set train.rounds=5',
      });
    }
    const lhs = expr.slice(0, eq).trim();
    const parsed = parseOverrideValue(expr.slice(eq + 1));
    const segments = lhs.split('.');
    checkPathSegments(segments, '--set', expr);
    if (segments.length === 1 && TOP_LEVEL.has(lhs)) {
      doc[lhs] = parsed;
      overridden.set(lhs, expr);
      continue;
    }
    const [stageId, ...param] = segments;
    // biome-ignore lint/suspicious/noExplicitAny: a plain YAML document, checked by the schema afterwards
    const stages = (doc.stages ?? {}) as Record<string, any>;
    if (!param.length || !Object.hasOwn(stages, stageId)) {
      throw new ConfigError(
        'FEDAU_USAGE',
        param.length
          ? `--set names stage "${stageId}", which the pipeline does not have`
          : `--set needs <stage>.<param>=<value>`,
        {
          file: `--set ${expr}`,
          hint: param.length
            ? unknownNameHint(stageId, Object.keys(stages))
            : `top-level keys that can be set: ${[...TOP_LEVEL].join(', ')}`,
        },
      );
    }
    const stage = stages[stageId];
    stage.with = stage.with && typeof stage.with === 'object' ? stage.with : {};
    // biome-ignore lint/suspicious/noExplicitAny: a plain YAML document, checked by the schema afterwards
    let target = stage.with as Record<string, any>;
    for (const key of param.slice(0, -1)) {
      if (!Object.hasOwn(target, key) || !target[key] || typeof target[key] !== 'object') target[key] = {};
      target = target[key];
    }
    target[param[param.length - 1]] = parsed;
    overridden.set(['stages', stageId, 'with', ...param].join('.'), expr);
  }
  return overridden;
}

function parseOverrideValue(text: string): unknown {
  try {
    return parseYamlValue(text);
  } catch {
    return text;
  }
}
