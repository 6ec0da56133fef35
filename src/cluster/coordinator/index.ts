// The coordinator's side of a cluster, as `fedau run --redis` and the training stages use it.
export { Coordinator } from './coordinator.ts';
export type { ProvenanceRecord } from './provenance.ts';
export { clusterRunners } from './runners.ts';
export { remoteStages } from './stage-runner.ts';
