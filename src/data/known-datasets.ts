/** Shape and class count of each dataset fedau knows by name. */
export const KNOWN_DATASETS = {
  mnist: { height: 28, width: 28, channels: 1, classes: 10 },
  cifar10: { height: 32, width: 32, channels: 3, classes: 10 },
  cifar100: { height: 32, width: 32, channels: 3, classes: 100 },
} as const;
export type DatasetName = keyof typeof KNOWN_DATASETS;
