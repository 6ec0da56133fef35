import type { RemoteRunner, RunnerFactory } from '../../fl/services.ts';
import { QueueClientRunner } from './client-runner.ts';
import type { Coordinator } from './coordinator.ts';

const mb = (b: number) => (b / 1e6).toFixed(1);

/**
 * Where the clients of a run's trainings train when it runs on a cluster: on the workers of the coordinator's Redis,
 * with `verify` of their answers computed here too.
 */
export function clusterRunners(coordinator: Coordinator, verify: number): RunnerFactory {
  return async (req, local) => {
    const queued = await QueueClientRunner.open({
      coordinator,
      runId: req.runId,
      stage: req.stage,
      key: req.key,
      facts: coordinator.facts!,
      model: req.model,
      dataset: req.dataset,
      partition: req.partition,
      forget: req.forget,
      read: req.read,
      verify,
      local,
      onProgress: (client, p) => req.onAssigned?.(client, p.worker),
      onTransport: (t) => {
        const per = Math.max(1, t.rounds);
        req.log(
          'info',
          `Redis transport from here: the data once (${mb(t.dataBytes)} MB, kept by the workers), then per round ` +
            `${mb(t.bytesUp / per)} MB up, ${mb(t.bytesDown / per)} MB down, ${(t.seconds / per).toFixed(3)} s`,
        );
      },
    });
    const runner: RemoteRunner = {
      describe: `clients trained by the workers of ${coordinator.label}`,
      run: (jobs, onDone, signal) => queued.run(jobs, onDone, signal),
      close: () => queued.close(),
      provenance: () => queued.provenance.record(coordinator.banned),
    };
    return runner;
  };
}
