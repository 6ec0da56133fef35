/**
 * Every kind of artifact a stage can read or write. A stage declares its inputs and outputs with these names, and
 * the config layer checks before anything runs that each input is wired to an output of the same kind. Each kind
 * has one module in this folder holding its type and its bytes (pack/unpack).
 */
export const ARTIFACT_KINDS = [
  'dataset',
  'partition',
  'federation',
  'model',
  'trace',
  'recording',
  'metrics',
  'history',
  'report',
] as const;

export type ArtifactKind = (typeof ARTIFACT_KINDS)[number];
