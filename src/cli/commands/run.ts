import { packageVersion } from '../../core/package-root.ts';
import { loadPipeline, runPipeline, storeRoot } from '../../index.ts';
import { PlainReporter } from '../../ui/plain-reporter.ts';
import { chooseReporter, createReporter } from '../../ui/select-reporter.ts';
import { type CommandSpec, parseArgs } from '../args.ts';
import {
  applyWebGpuSoftware,
  FLAG_BACKEND,
  FLAG_FORCE,
  FLAG_MATRIX,
  FLAG_REDIS,
  FLAG_REDIS_PASSWORD_FILE,
  FLAG_SET,
  FLAG_STORE,
  FLAG_VERBOSE,
  FLAG_WEBGPU_SOFTWARE,
  FLAG_WORKERS,
  parseBackend,
  parseForce,
  parseFraction,
  parsePositive,
  parseWorkers,
  redisUrl,
  requirePipelineArg,
  stringList,
} from '../common.ts';
import type { CliContext } from '../context.ts';

export const runSpec: CommandSpec = {
  name: 'run',
  usage:
    'fedau run <pipeline.yaml> [--set <stage>.<param>=<value>]... [--force[=<stage>]] ' +
    '[--reporter ink|plain|json] [--store <dir>]',
  summary: 'Run a pipeline: cached stages are reused, the rest run; outputs go to the store.',
  positionals: 1,
  flags: [
    FLAG_SET,
    FLAG_MATRIX,
    FLAG_FORCE,
    {
      name: 'reporter',
      arg: 'value',
      placeholder: 'ink|plain|json',
      description:
        'how progress is shown (default: ink on a terminal, plain under CI or in a pipe; also $FEDAU_REPORTER)',
    },
    FLAG_STORE,
    FLAG_BACKEND,
    FLAG_WEBGPU_SOFTWARE,
    FLAG_WORKERS,
    FLAG_REDIS,
    FLAG_REDIS_PASSWORD_FILE,
    {
      name: 'concurrency',
      arg: 'value',
      placeholder: 'n',
      description: "independent stages run at the same time (default: the pipeline's; with --redis at least 8)",
    },
    {
      name: 'verify',
      arg: 'value',
      placeholder: 'fraction',
      description:
        "with --redis: the fraction of workers' results computed here again and compared (default: the pipeline's " +
        'verify, 0.05); 1 checks every one, 0 none',
    },
    FLAG_VERBOSE,
  ],
};

/** Exit codes: 0 success, 1 a stage failed, 2 usage or config error (thrown to main), 130 interrupted. */
export async function runCommand(argv: string[], ctx: CliContext): Promise<number> {
  const { positionals, flags } = parseArgs(argv, runSpec);
  const file = requirePipelineArg(positionals, 'run');
  const reporterName = chooseReporter(flags.reporter as string | undefined);
  const pipeline = await loadPipeline(file, {
    sets: stringList(flags.set),
    matrix: stringList(flags.matrix),
    registry: ctx.registry,
    schemas: ctx.schemas,
  });
  const force = parseForce(flags.force, pipeline);
  const backend = parseBackend(flags.backend);
  applyWebGpuSoftware(flags['webgpu-software']);
  const workers = parseWorkers(flags.workers);
  const verbose = flags.verbose === true;
  if (reporterName === 'json') {
    // stdout carries only NDJSON events: anything a library prints goes to stderr instead.
    console.log = console.info = console.warn = console.error;
  }
  const url = redisUrl(flags, { warn: (text) => process.stderr.write(`${text}\n`) });
  const verify = parseFraction(flags.verify, 'verify') ?? pipeline.verify;
  // Opened before anything runs: an unreachable Redis stops the command within seconds (exit 2).
  const cluster = url ? await import('../../cluster/coordinator/index.ts') : undefined;
  const coordinator = cluster ? await cluster.Coordinator.open(url!) : undefined;
  const concurrency =
    parsePositive(flags.concurrency, 'concurrency') ?? (coordinator ? Math.max(8, pipeline.concurrency) : undefined);
  const reporter = await createReporter(reporterName, { verbose });
  const controller = new AbortController();
  let interrupts = 0;
  const onSigint = () => {
    interrupts++;
    if (interrupts === 1) {
      process.stderr.write(
        '\nstopping: finishing the current step and keeping what completed (Ctrl-C again to quit at once)\n',
      );
      controller.abort();
    } else {
      process.exit(130);
    }
  };
  process.on('SIGINT', onSigint);
  process.on('SIGTERM', onSigint);
  try {
    const result = await runPipeline(pipeline, {
      store: storeRoot(flags.store as string | undefined),
      reporters: [reporter],
      // A failing live view must not leave the terminal blank: say so once, then show the run line by line.
      onReporterFailure: {
        warn: (text) => process.stderr.write(`⚠ ${text}\n`),
        fallback: reporterName === 'plain' ? undefined : () => new PlainReporter({ verbose }),
      },
      force,
      signal: controller.signal,
      backend,
      workers,
      concurrency,
      onStart: async (runId, log) => {
        // One line on the backend and why it was chosen; what the GPU probe printed only under --verbose.
        if (!pipeline.stages.some((s) => s.def.usesTfjs)) return;
        const { backendDescription, chooseBackend, tfjsVersion } = await import('../../ml/backends/backend.ts');
        const { gpuProbe } = await import('../../ml/backends/webgpu.ts');
        const choice = await chooseBackend(backend ?? pipeline.backend);
        log('info', `backend ${backendDescription(choice)}: ${choice.why ?? 'asked for'}`);
        if (verbose) for (const line of gpuProbe.details) log('info', `webgpu probe: ${line}`);
        if (!coordinator) return;
        coordinator.log = log;
        log('info', `coordinating the workers of ${coordinator.label}`);
        await coordinator.startRun(runId, {
          fedau: packageVersion(),
          tfjs: tfjsVersion(),
          backend: backendDescription(choice),
        });
      },
      cluster: coordinator && {
        remote: cluster!.remoteStages(coordinator, { verify }),
        handle: { coordinator, verify },
      },
    });
    return result.status === 'success' ? 0 : result.status === 'interrupted' ? 130 : 1;
  } finally {
    process.off('SIGINT', onSigint);
    process.off('SIGTERM', onSigint);
    await coordinator?.close();
  }
}
