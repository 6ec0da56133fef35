import { ConfigErrors } from '../config/ajv-errors.ts';
import { FedauError, formatError, serializeError } from '../core/errors.ts';
import { packageVersion } from '../core/package-root.ts';
import { type CommandSpec, helpText, usage } from './args.ts';
import { compareCommand, compareSpec } from './commands/compare.ts';
import { gcCommand, gcSpec } from './commands/gc.ts';
import { planCommand, planSpec } from './commands/plan.ts';
import { runCommand, runSpec } from './commands/run.ts';
import { runsCommand, runsSpec } from './commands/runs.ts';
import { stagesCommand, stagesSpec } from './commands/stages.ts';
import { validateCommand, validateSpec } from './commands/validate.ts';
import { workerCommand, workerSpec } from './commands/worker.ts';
import { workersCommand, workersSpec } from './commands/workers.ts';
import type { CliContext } from './context.ts';

const COMMANDS: { spec: CommandSpec; run: (argv: string[], ctx: CliContext) => Promise<number> | number }[] = [
  { spec: runSpec, run: runCommand },
  { spec: planSpec, run: planCommand },
  { spec: validateSpec, run: validateCommand },
  { spec: stagesSpec, run: stagesCommand },
  { spec: runsSpec, run: runsCommand },
  { spec: compareSpec, run: compareCommand },
  { spec: workerSpec, run: workerCommand },
  { spec: workersSpec, run: workersCommand },
  { spec: gcSpec, run: gcCommand },
];

function overview(): string {
  // Listed in the order a user meets them.
  const width = Math.max(...COMMANDS.map((c) => c.spec.name.length));
  return [
    'fedau: reproducible, cached pipelines for federated unlearning (FedAU)',
    '',
    'usage: fedau <command> [options]',
    '',
    ...COMMANDS.map((c) => `  ${c.spec.name.padEnd(width)}  ${c.spec.summary}`),
    '',
    '`fedau <command> --help` shows its options.',
    'Exit codes: 0 ok, 1 a stage failed, 2 usage or config error, 130 interrupted.',
  ].join('\n');
}

/** The CLI: parse, dispatch, and turn errors into messages and exit codes. The only place that knows exit codes. */
export async function main(argv: string[], deps: Partial<CliContext> = {}): Promise<number> {
  const ctx: CliContext = { out: (line) => process.stdout.write(`${line}\n`), ...deps };
  const out = ctx.out;
  const verbose = argv.includes('--verbose');
  try {
    const [name, ...rest] = argv;
    if (!name || name === '--help' || name === '-h' || name === 'help') {
      out(overview());
      return 0;
    }
    if (name === '--version' || name === '-v') {
      out(packageVersion());
      return 0;
    }
    const command = COMMANDS.find((c) => c.spec.name === name);
    if (!command)
      throw usage(`unknown command "${name}"`, undefined, `commands: ${COMMANDS.map((c) => c.spec.name).join(', ')}`);
    if (rest.includes('--help') || rest.includes('-h')) {
      out(helpText(command.spec));
      return 0;
    }
    return await command.run(rest, ctx);
  } catch (error) {
    const errors = error instanceof ConfigErrors ? error.errors : [error];
    for (const e of errors) {
      process.stderr.write(`${formatError(e instanceof FedauError ? e : serializeError(e), { verbose })}\n`);
    }
    if (error instanceof ConfigErrors && error.errors.length > 1)
      process.stderr.write(`${error.errors.length} problems; nothing was run\n`);
    if (error instanceof FedauError && error.isUserError)
      return error.code === 'FEDAU_INTERRUPTED'
        ? 130
        : error.code === 'FEDAU_STAGE_FAILED' || error.code === 'FEDAU_DATA'
          ? 1
          : 2;
    return 1;
  }
}
