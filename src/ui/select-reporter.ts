import { ConfigError } from '../core/errors.ts';
import type { Reporter } from '../engine/events.ts';
import { JsonReporter } from './json-reporter.ts';
import { PlainReporter } from './plain-reporter.ts';

export type ReporterName = 'ink' | 'plain' | 'json';
export const REPORTERS: readonly ReporterName[] = ['ink', 'plain', 'json'];

/**
 * Whether this is a CI log, by the same rule Ink uses (CI or CONTINUOUS_INTEGRATION set, and not "0" or "false"):
 * under CI Ink draws only the last frame, so choosing Ink there would leave the terminal blank until the end.
 */
export function inCi(env: NodeJS.ProcessEnv = process.env): boolean {
  const on = (key: string) => key in env && env[key] !== '0' && env[key] !== 'false';
  return on('CI') || on('CONTINUOUS_INTEGRATION');
}

/** `--reporter`, then `FEDAU_REPORTER`, then plain under CI or without a TTY, else Ink. */
export function chooseReporter(
  flag: string | undefined,
  env = process.env,
  isTTY = Boolean(process.stdout.isTTY),
): ReporterName {
  const requested = flag ?? env.FEDAU_REPORTER;
  if (requested !== undefined) {
    if (!(REPORTERS as readonly string[]).includes(requested)) {
      throw new ConfigError('FEDAU_USAGE', `unknown reporter "${requested}"`, {
        file: flag !== undefined ? '--reporter' : 'FEDAU_REPORTER',
        expected: REPORTERS.join(' | '),
        got: requested,
        hint: 'ink draws a live view, plain prints a line per event, json prints one JSON event per line',
      });
    }
    return requested as ReporterName;
  }
  return inCi(env) || !isTTY ? 'plain' : 'ink';
}

export async function createReporter(name: ReporterName, opts: { verbose?: boolean } = {}): Promise<Reporter> {
  switch (name) {
    case 'json':
      return new JsonReporter();
    case 'plain':
      return new PlainReporter({ verbose: opts.verbose });
    case 'ink': {
      // Loaded lazily so that plain and json runs never pay for React.
      const { InkReporter } = await import('./ink-reporter.tsx');
      return new InkReporter();
    }
  }
}
