import { readFileSync } from 'node:fs';
import { parseRedisUrl, withPassword } from '../cluster/redis.ts';
import { ConfigError, unknownNameHint } from '../core/errors.ts';
import { packagePath } from '../core/package-root.ts';
import type { ResolvedPipeline } from '../engine/pipeline.ts';
import type { PipelineParams } from '../generated/stage-params.ts';
import type { FlagSpec, ParsedFlags } from './args.ts';

export const FLAG_STORE: FlagSpec = {
  name: 'store',
  arg: 'value',
  placeholder: 'dir',
  description: 'the artifact store (default $FEDAU_STORE, else ./artifacts)',
};
export const FLAG_SET: FlagSpec = {
  name: 'set',
  arg: 'value',
  repeat: true,
  placeholder: 'stage.param=value',
  description: 'override a param (repeatable); `--set seed=1` sets a top-level key',
};
export const FLAG_MATRIX: FlagSpec = {
  name: 'matrix',
  arg: 'value',
  repeat: true,
  placeholder: 'key=v1,v2,...',
  description: 'run every combination: `seed` or a <stage>.<param> with its values (repeatable; adds to `matrix:`)',
};
export const FLAG_FORCE: FlagSpec = {
  name: 'force',
  arg: 'optional',
  repeat: true,
  placeholder: 'stage',
  description: 're-run every stage, or only the named one (repeatable)',
};
export const FLAG_BACKEND: FlagSpec = {
  name: 'backend',
  arg: 'value',
  placeholder: 'auto|tensorflow|webgpu|wasm|cpu',
  description: 'tfjs backend (overrides the pipeline); auto prefers tfjs-node-gpu, tfjs-node, a WebGPU GPU, wasm',
};
export const FLAG_WEBGPU_SOFTWARE: FlagSpec = {
  name: 'webgpu-software',
  arg: 'boolean',
  description: 'let --backend webgpu use a software adapter (Mesa llvmpipe): for tests; = FEDAU_WEBGPU_SOFTWARE=1',
};
export const FLAG_THREADS: FlagSpec = {
  name: 'threads',
  arg: 'value',
  placeholder: 'n',
  description: 'trainer threads training clients in parallel on this machine (0 = one per core, 1 on webgpu)',
};
export const FLAG_WORKERS: FlagSpec = {
  name: 'workers',
  arg: 'value',
  placeholder: 'n',
  description: 'the old name of --threads',
};
export const FLAG_REDIS: FlagSpec = {
  name: 'redis',
  arg: 'value',
  placeholder: 'url',
  description: 'a Redis (redis:// or rediss://) whose `fedau worker`s do the work (default $FEDAU_REDIS)',
};
export const FLAG_REDIS_PASSWORD_FILE: FlagSpec = {
  name: 'redis-password-file',
  arg: 'value',
  placeholder: 'file',
  description:
    'the Redis password, read from a file (default $FEDAU_REDIS_PASSWORD_FILE), kept off the command line (ps)',
};
export const FLAG_VERBOSE: FlagSpec = {
  name: 'verbose',
  arg: 'boolean',
  description: 'print stack traces and debug logs',
};

/** The backends a pipeline may ask for: its schema's. */
export const BACKENDS = (
  JSON.parse(readFileSync(packagePath('schemas/pipeline.schema.json'), 'utf8')) as {
    properties: { backend: { enum: PipelineParams['backend'][] } };
  }
).properties.backend.enum;

export function stringList(value: ParsedFlags[string]): string[] {
  if (value === undefined) return [];
  return (Array.isArray(value) ? value : [value]).filter((v): v is string => typeof v === 'string');
}

/** `--force` alone forces everything; `--force=<stage>` only that stage, which must exist. */
export function parseForce(value: ParsedFlags[string], pipeline: ResolvedPipeline): boolean | string[] {
  if (value === undefined) return false;
  const items = Array.isArray(value) ? value : [value];
  if (items.includes(true)) return true;
  const ids = pipeline.stages.map((s) => s.id);
  for (const id of items as string[]) {
    if (!ids.includes(id)) {
      throw new ConfigError(
        'FEDAU_USAGE',
        `--force names stage "${id}", which pipeline "${pipeline.name}" does not have`,
        { file: `--force ${id}`, hint: unknownNameHint(id, ids) },
      );
    }
  }
  return items as string[];
}

export function parseBackend(value: ParsedFlags[string]): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || !(BACKENDS as readonly string[]).includes(value)) {
    throw new ConfigError('FEDAU_USAGE', `unknown backend "${String(value)}"`, {
      file: '--backend',
      expected: BACKENDS.join(' | '),
      got: String(value),
      hint: unknownNameHint(String(value), [...BACKENDS]),
    });
  }
  return value;
}

/**
 * `--webgpu-software` becomes the environment variable, so that worker threads and the processes this one starts
 * see the same permission.
 */
export function applyWebGpuSoftware(value: ParsedFlags[string], env = process.env): void {
  if (value === true) env.FEDAU_WEBGPU_SOFTWARE = '1';
}

/**
 * The Redis to use: `--redis`, then `$FEDAU_REDIS`; undefined runs everything in this process. The password may come
 * from `--redis-password-file` or `$FEDAU_REDIS_PASSWORD_FILE` instead of the URL; a password written in `--redis`
 * itself is visible to every user of the machine (`ps`), and `warn` says so.
 */
export function redisUrl(
  flags: ParsedFlags,
  opts: { env?: NodeJS.ProcessEnv; warn?: (text: string) => void } = {},
): string | undefined {
  const env = opts.env ?? process.env;
  const flag = flags.redis;
  if (flag === true || flag === false)
    throw new ConfigError('FEDAU_USAGE', '--redis needs a URL', { hint: 'e.g. --redis redis://127.0.0.1:6379' });
  const base = (flag as string | undefined) ?? (env.FEDAU_REDIS || undefined);
  if (!base) return undefined;
  parseRedisUrl(base);
  const file = (flags['redis-password-file'] as string | undefined) ?? (env.FEDAU_REDIS_PASSWORD_FILE || undefined);
  if (file) {
    let password: string;
    try {
      password = readFileSync(file, 'utf8').replace(/\r?\n$/, '');
    } catch (error) {
      throw new ConfigError('FEDAU_USAGE', `cannot read the Redis password file ${file}`, {
        file,
        got: (error as NodeJS.ErrnoException).code,
        hint: 'give the path of a file holding the password alone (a trailing newline is ignored)',
      });
    }
    return withPassword(base, password);
  }
  if (typeof flag === 'string' && parseRedisUrl(flag).password) {
    opts.warn?.(
      '⚠ the password in --redis is visible to other users of this machine (ps): ' +
        'set FEDAU_REDIS or use --redis-password-file instead',
    );
  }
  return base;
}

export function parsePositive(value: ParsedFlags[string], name: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (typeof value !== 'string' || !Number.isInteger(n) || n < 1 || n > 256) {
    throw new ConfigError('FEDAU_USAGE', `--${name} must be a whole number from 1 to 256`, {
      file: `--${name}`,
      expected: '1–256',
      got: String(value),
    });
  }
  return n;
}

export function parseFraction(value: ParsedFlags[string], name: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (typeof value !== 'string' || value.trim() === '' || !(n >= 0 && n <= 1)) {
    throw new ConfigError('FEDAU_USAGE', `--${name} must be a fraction from 0 to 1`, {
      file: `--${name}`,
      expected: 'a number from 0 to 1, e.g. 0.1',
      got: String(value),
    });
  }
  return n;
}

export function parseWorkers(value: ParsedFlags[string], name = 'threads'): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (typeof value !== 'string' || !Number.isInteger(n) || n < 0 || n > 64) {
    throw new ConfigError('FEDAU_USAGE', `--${name} must be a whole number from 0 to 64`, {
      file: `--${name}`,
      expected: '0–64',
      got: String(value),
      hint: '0 uses one thread per core',
    });
  }
  return n;
}

export function requirePipelineArg(positionals: string[], command: string): string {
  if (!positionals[0]) {
    throw new ConfigError('FEDAU_USAGE', `\`fedau ${command}\` needs a pipeline file`, {
      hint: `e.g. fedau ${command} pipelines/smoke.yaml`,
    });
  }
  return positionals[0];
}

export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  const units = ['KB', 'MB', 'GB', 'TB'];
  let v = bytes / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(v >= 100 ? 0 : 1)} ${units[i]}`;
}
