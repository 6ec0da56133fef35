import { ConfigError } from '../core/errors.ts';

/** One flag of the CLI: the single table that parsing and `--help` both read. */
export interface FlagSpec {
  name: string;
  /** `value`: takes an argument; `optional`: may take one, written `--force=<stage>`; `boolean`: none. */
  arg: 'value' | 'optional' | 'boolean';
  repeat?: boolean;
  placeholder?: string;
  description: string;
}

export interface CommandSpec {
  name: string;
  usage: string;
  summary: string;
  flags: FlagSpec[];
  positionals: number;
}

export type ParsedFlags = Record<string, string | boolean | (string | boolean)[] | undefined>;

export function parseArgs(argv: string[], spec: CommandSpec): { positionals: string[]; flags: ParsedFlags } {
  const flags: ParsedFlags = {};
  const positionals: string[] = [];
  const byName = new Map(spec.flags.map((f) => [f.name, f]));
  const usedOptional: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const token = argv[i];
    if (token === '--') {
      // Everything after `--` is an argument, even if it starts with dashes: `fedau run -- --odd-name.yaml`.
      positionals.push(...argv.slice(i + 1));
      break;
    }
    if (!token.startsWith('--')) {
      positionals.push(token);
      continue;
    }
    const eq = token.indexOf('=');
    const name = token.slice(2, eq < 0 ? undefined : eq);
    const flag = byName.get(name);
    if (!flag) {
      const known = spec.flags.map((f) => `--${f.name}`);
      throw usage(
        `unknown option --${name} for \`fedau ${spec.name}\``,
        spec,
        known.length ? `options: ${known.join(', ')}` : 'it takes no options',
      );
    }
    let value: string | boolean;
    if (flag.arg === 'boolean') {
      if (eq >= 0) throw usage(`--${name} takes no value`, spec);
      value = true;
    } else if (eq >= 0) {
      value = token.slice(eq + 1);
    } else if (flag.arg === 'value') {
      if (i + 1 >= argv.length || argv[i + 1].startsWith('--'))
        throw usage(`--${name} needs a value (${flag.placeholder ?? 'value'})`, spec);
      value = argv[++i];
    } else {
      // An optional value is given only as `--force=<stage>`: the next token is never taken, so whether it is a
      // stage or the pipeline file is never guessed (from its name or extension).
      value = true;
      usedOptional.push(name);
    }
    if (flag.repeat) flags[name] = [...((flags[name] as (string | boolean)[] | undefined) ?? []), value];
    else flags[name] = value;
  }
  if (positionals.length > spec.positionals) {
    const extra = positionals.slice(spec.positionals);
    const hint = usedOptional.length
      ? `to give --${usedOptional[0]} a value, write it with "=": --${usedOptional[0]}=${extra[0]}`
      : undefined;
    throw usage(`too many arguments: ${extra.join(' ')}`, spec, hint);
  }
  return { positionals, flags };
}

export function usage(message: string, spec?: CommandSpec, hint?: string): ConfigError {
  return new ConfigError('FEDAU_USAGE', message, {
    hint: hint ?? (spec ? `usage: ${spec.usage}` : 'see `fedau --help`'),
  });
}

export function helpText(spec: CommandSpec): string {
  const width = Math.max(0, ...spec.flags.map((f) => flagLabel(f).length));
  return [
    `usage: ${spec.usage}`,
    '',
    spec.summary,
    '',
    ...spec.flags.map((f) => `  ${flagLabel(f).padEnd(width)}  ${f.description}`),
  ].join('\n');
}

function flagLabel(f: FlagSpec): string {
  const arg =
    f.arg === 'value'
      ? ` <${f.placeholder ?? 'value'}>`
      : f.arg === 'optional'
        ? `[=<${f.placeholder ?? 'value'}>]`
        : '';
  return `--${f.name}${arg}`;
}
