import { describe, expect, it } from 'vitest';
import { type CommandSpec, parseArgs } from '../../src/cli/args.ts';
import { runSpec } from '../../src/cli/commands/run.ts';
import { ConfigError, formatError } from '../../src/core/errors.ts';

function usageError(argv: string[], spec: CommandSpec = runSpec): string {
  try {
    parseArgs(argv, spec);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return formatError(error as ConfigError);
  }
  throw new Error('expected a usage error');
}

describe('command-line arguments', () => {
  it('`--` ends the options: what follows is an argument, even when it starts with dashes', () => {
    expect(parseArgs(['--', 'exp.yaml'], runSpec).positionals).toEqual(['exp.yaml']);
    expect(parseArgs(['--reporter', 'json', '--', '--odd.yaml'], runSpec)).toEqual({
      positionals: ['--odd.yaml'],
      flags: { reporter: 'json' },
    });
  });

  it('--force takes its stage only as --force=<stage>, never by guessing from the next argument', () => {
    expect(parseArgs(['exp.yaml', '--force'], runSpec).flags.force).toEqual([true]);
    expect(parseArgs(['--force', 'exp.yaml'], runSpec)).toEqual({
      positionals: ['exp.yaml'],
      flags: { force: [true] },
    });
    // A stage named like a file, or a file not named .yaml, is no longer guessed either way.
    expect(parseArgs(['--force', 'pipeline.cfg'], runSpec).positionals).toEqual(['pipeline.cfg']);
    expect(parseArgs(['exp.yaml', '--force=train', '--force=eval.yaml'], runSpec).flags.force).toEqual([
      'train',
      'eval.yaml',
    ]);
    const text = usageError(['exp.yaml', '--force', 'train']);
    expect(text).toContain('too many arguments: train');
    expect(text).toContain('hint: to give --force a value, write it with "=": --force=train');
  });

  it('unknown options and missing values are usage errors with the options listed', () => {
    expect(usageError(['exp.yaml', '--frobnicate'])).toContain('unknown option --frobnicate for `fedau run`');
    expect(usageError(['exp.yaml', '--store'])).toContain('--store needs a value (dir)');
  });
});
