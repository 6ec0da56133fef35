import { createRequire } from 'node:module';
import { packageVersion } from '../../core/package-root.ts';
import type { ResolvedPipeline } from '../../engine/pipeline.ts';
import { loadPipeline, runPipeline, storeRoot } from '../../index.ts';
import { PlainReporter } from '../../ui/plain-reporter.ts';
import { chooseReporter, createReporter } from '../../ui/select-reporter.ts';
import { type CommandSpec, type ParsedFlags, parseArgs } from '../args.ts';
import {
  applyWebGpuSoftware,
  FLAG_BACKEND,
  FLAG_FORCE,
  FLAG_MATRIX,
  FLAG_REDIS,
  FLAG_REDIS_PASSWORD_FILE,
  FLAG_SET,
  FLAG_STORE,
  FLAG_THREADS,
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
    FLAG_THREADS,
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
  const backend = parseBackend(flags.backend) ?? (pipeline.settings.backend as string);
  applyWebGpuSoftware(flags['webgpu-software']);
  const threads = parseWorkers(flags.threads, 'threads') ?? parseWorkers(flags.workers, 'workers');
  const verbose = flags.verbose === true;
  if (reporterName === 'json') {
    // stdout carries only NDJSON events: anything a library prints goes to stderr instead.
    console.log = console.info = console.warn = console.error;
  }
  const cluster = await openCluster(flags, pipeline.settings.verify as number);
  const concurrency =
    parsePositive(flags.concurrency, 'concurrency') ?? (cluster ? Math.max(8, pipeline.concurrency) : undefined);
  const reporter = await createReporter(reporterName, { verbose });
  const stop = interruptible();
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
      signal: stop.signal,
      backend,
      threads,
      concurrency,
      onStart: async (runId, log) => {
        const { facts } = await sayBackend(pipeline, backend, verbose, log);
        await cluster?.start(runId, facts, log);
      },
      cluster: cluster?.services,
    });
    return result.status === 'success' ? 0 : result.status === 'interrupted' ? 130 : 1;
  } finally {
    stop.dispose();
    await cluster?.close();
  }
}

/**
 * The cluster of `--redis` (or FEDAU_REDIS), connected before anything runs: an unreachable Redis stops the
 * command within seconds (exit 2). Undefined when the run stays on this machine.
 */
async function openCluster(flags: ParsedFlags, pipelineVerify: number) {
  const url = redisUrl(flags, { warn: (text) => process.stderr.write(`${text}\n`) });
  if (!url) return undefined;
  const verify = parseFraction(flags.verify, 'verify') ?? pipelineVerify;
  const cluster = await import('../../cluster/coordinator/index.ts');
  const coordinator = await cluster.Coordinator.open(url);
  return {
    services: {
      remote: cluster.remoteStages(coordinator, { verify }),
      runners: cluster.clusterRunners(coordinator, verify),
    },
    async start(
      runId: string,
      facts: { backend: string; kernels: string },
      log: (level: 'info' | 'warn', text: string) => void,
    ) {
      coordinator.log = log;
      log('info', `coordinating the workers of ${coordinator.label}`);
      await coordinator.startRun(runId, { fedau: packageVersion(), tfjs: tfjsVersionOf(), ...facts });
    },
    close: () => coordinator.close(),
  };
}

const tfjsVersionOf = () =>
  (createRequire(import.meta.url)('@tensorflow/tfjs/package.json') as { version: string }).version;

/** One line on the backend and why it was chosen; what the GPU probe printed only under --verbose. */
async function sayBackend(
  pipeline: ResolvedPipeline,
  requested: string,
  verbose: boolean,
  log: (level: 'info' | 'warn', text: string) => void,
): Promise<{ facts: { backend: string; kernels: string } }> {
  if (!pipeline.stages.some((s) => s.def.runtimeKey)) return { facts: { backend: requested, kernels: 'none' } };
  const { backendDescription, chooseBackend, kernelsFact } = await import('../../ml/backends/backend.ts');
  const { gpuProbe } = await import('../../ml/backends/webgpu.ts');
  const choice = await chooseBackend(requested);
  const kernels = kernelsFact(choice);
  const kernelsNote = kernels === 'none' ? '' : ` (fedau's kernels: ${kernels.split(' ')[0]})`;
  log('info', `backend ${backendDescription(choice)}${kernelsNote}: ${choice.why ?? 'asked for'}`);
  if (verbose) for (const line of gpuProbe.details) log('info', `webgpu probe: ${line}`);
  return { facts: { backend: backendDescription(choice), kernels } };
}

/** Ctrl-C (or SIGTERM) stops at the next safe point, keeping what completed; a second one quits at once. */
function interruptible(): { signal: AbortSignal; dispose(): void } {
  const controller = new AbortController();
  let interrupts = 0;
  const onSigint = () => {
    interrupts++;
    if (interrupts > 1) process.exit(130);
    process.stderr.write(
      '\nstopping: finishing the current step and keeping what completed (Ctrl-C again to quit at once)\n',
    );
    controller.abort();
  };
  process.on('SIGINT', onSigint);
  process.on('SIGTERM', onSigint);
  return {
    signal: controller.signal,
    dispose() {
      process.off('SIGINT', onSigint);
      process.off('SIGTERM', onSigint);
    },
  };
}
