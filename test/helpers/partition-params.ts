import type { PartitionParams } from '../../src/data/partition.ts';

/** mnist-ul-samples' partition: 10 IID clients, one unlearning client with 1 % of its samples backdoored. */
export const SAMPLES_PARTITION: PartitionParams = {
  clients: 10,
  scheme: 'iid',
  beta: 1,
  mode: 'samples',
  unlearningClients: 1,
  unlearningClientIds: [],
  proportion: 0.01,
  classId: 9,
  target: 0,
  trigger: { size: 15, x: 0, y: 0, value: 255 },
  excludeTarget: true,
};
