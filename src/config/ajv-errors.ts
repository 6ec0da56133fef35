import type { ErrorObject } from 'ajv';
import { ConfigError, unknownNameHint } from '../core/errors.ts';
import { type LoadedPipeline, locate, type YamlPath } from './load.ts';

export function describeValue(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null';
  if (Array.isArray(value)) return `a list (${JSON.stringify(value).slice(0, 40)})`;
  if (typeof value === 'object') return 'a mapping';
  if (typeof value === 'string') return `the string ${JSON.stringify(value)}`;
  return `${typeof value} ${JSON.stringify(value)}`;
}

function pointerToPath(pointer: string): YamlPath {
  if (!pointer) return [];
  return pointer
    .split('/')
    .slice(1)
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'))
    .map((s) => (/^\d+$/.test(s) ? Number(s) : s));
}

export interface ErrorSource {
  loaded?: LoadedPipeline;
  /** The YAML path of the validated value inside the document (e.g. ['stages', 'split', 'with']). */
  base: YamlPath;
  /** Paths set by `--set`, mapped to the expression, so errors there point at the flag, not the file. */
  overrides?: Map<string, string>;
  /** A word for the members of the validated object ("param", "key"). */
  noun: string;
}

/** Turns ajv's errors into ConfigErrors that name file:line:col, the YAML path, expected vs got, and a hint. */
export function toConfigErrors(errors: ErrorObject[], source: ErrorSource): ConfigError[] {
  const out: ConfigError[] = [];
  const seen = new Set<string>();
  for (const e of errors) {
    if (e.keyword === 'if') continue;
    const instance = [...source.base, ...pointerToPath(e.instancePath)];
    const parent = e.parentSchema as
      | { description?: string; default?: unknown; properties?: Record<string, unknown> }
      | undefined;
    let path = instance;
    let atKey = false;
    let message: string;
    let expected: string | undefined;
    let got: string | undefined;
    let hint = parent?.description;
    // biome-ignore lint/suspicious/noExplicitAny: ajv's params differ per keyword
    const p = e.params as Record<string, any>;
    switch (e.keyword) {
      case 'additionalProperties': {
        path = [...instance, p.additionalProperty];
        atKey = true;
        message = `unknown ${source.noun} "${p.additionalProperty}"`;
        hint = unknownNameHint(String(p.additionalProperty), Object.keys(parent?.properties ?? {}));
        break;
      }
      case 'required':
        message = `missing required ${source.noun} "${p.missingProperty}"`;
        hint = (parent?.properties?.[p.missingProperty] as { description?: string } | undefined)?.description;
        break;
      case 'type':
        message = `must be ${articled(p.type)}`;
        expected = String(p.type);
        got = describeValue(e.data);
        break;
      case 'enum':
        message = `must be one of ${p.allowedValues.map((v: unknown) => JSON.stringify(v)).join(', ')}`;
        expected = `one of ${p.allowedValues.map((v: unknown) => JSON.stringify(v)).join(', ')}`;
        got = describeValue(e.data);
        if (typeof e.data === 'string') {
          const close = unknownNameHint(e.data, p.allowedValues.map(String));
          hint = hint ? `${hint}; ${close}` : close;
        }
        break;
      case 'const':
        message = `must be ${JSON.stringify(p.allowedValue)}`;
        expected = JSON.stringify(p.allowedValue);
        got = describeValue(e.data);
        break;
      case 'minimum':
      case 'maximum':
      case 'exclusiveMinimum':
      case 'exclusiveMaximum':
        message = `must be ${p.comparison} ${p.limit}`;
        expected = `${p.comparison} ${p.limit}`;
        got = describeValue(e.data);
        break;
      case 'pattern':
        message = `does not match the expected format`;
        expected = `text matching /${p.pattern}/`;
        got = describeValue(e.data);
        break;
      case 'minItems':
      case 'maxItems':
      case 'minLength':
      case 'maxLength':
      case 'minProperties':
        message = `${e.message}`;
        got = describeValue(e.data);
        break;
      default:
        message = e.message ?? `fails ${e.keyword}`;
        got = describeValue(e.data);
    }
    const pathText = path.join('.');
    const dedupe = `${pathText}|${e.keyword}`;
    if (seen.has(dedupe)) continue;
    seen.add(dedupe);
    out.push(makeError(source, path, { atKey, message, expected, got, hint }));
  }
  return out;
}

/** Builds a located ConfigError for a YAML path, pointing at a `--set` flag when the value came from one. */
export function makeError(
  source: Pick<ErrorSource, 'loaded' | 'overrides'>,
  path: YamlPath,
  m: {
    atKey?: boolean;
    message: string;
    expected?: string;
    got?: string;
    hint?: string;
    code?: ConstructorParameters<typeof ConfigError>[0];
  },
): ConfigError {
  const pathText = path.join('.');
  const override = [...(source.overrides ?? new Map<string, string>())].find(
    ([p]) => pathText === p || pathText.startsWith(`${p}.`),
  );
  const pos = override || !source.loaded ? undefined : locate(source.loaded, path, { atKey: m.atKey });
  return new ConfigError(m.code ?? 'FEDAU_CONFIG_INVALID', m.message, {
    file: override ? `--set ${override[1]}` : source.loaded?.file,
    line: pos?.line,
    col: pos?.col,
    path: pathText,
    expected: m.expected,
    got: m.got,
    hint: m.hint,
  });
}

function articled(type: string): string {
  return /^[aeiou]/.test(type) ? `an ${type}` : `a ${type}`;
}

/** Several configuration errors reported at once (everything found before any work starts). */
export class ConfigErrors extends ConfigError {
  readonly errors: ConfigError[];
  constructor(errors: ConfigError[]) {
    super(
      errors[0].code,
      errors.length === 1 ? errors[0].message : `${errors.length} problems in the pipeline`,
      errors[0].info,
    );
    this.errors = errors;
  }
}
