// The coordinator's side of a cluster, as `fedau run --redis` and the training stages use it.
import type { Coordinator } from './coordinator.ts';

export { queueClientRunner } from './client-runner.ts';
export { Coordinator } from './coordinator.ts';
export type { ProvenanceRecord } from './provenance.ts';
export { remoteStages } from './stage-runner.ts';

/** What a run on a cluster hands its training stages: the coordinator, and how much of the workers' work to verify. */
export interface ClusterHandle {
  coordinator: Coordinator;
  verify: number;
}
