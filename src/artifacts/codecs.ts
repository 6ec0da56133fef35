import { unpackContainer } from './container.ts';
import { type Dataset, packDataset, unpackDataset } from './dataset.ts';
import { type Federation, packFederation, unpackFederation } from './federation.ts';
import { type History, packHistory, unpackHistory } from './history.ts';
import type { ArtifactKind } from './kinds.ts';
import { type Metrics, packMetrics, unpackMetrics } from './metrics.ts';
import { packModel, type StoredModel, unpackModel } from './model.ts';
import { type Partition, packPartition, unpackPartition } from './partition.ts';
import { packReport, type ReportFiles, unpackReport } from './report.ts';
import { type Recording, unpackRecording } from './recording.ts';
import { type Trace, unpackTrace } from './trace.ts';

/** Bytes ⇄ value for one artifact kind: the only place that kind's bytes are written and read. */
export interface Codec<T> {
  encode?(value: T): Uint8Array;
  decode(bytes: Uint8Array): T;
  /** Binary kinds are fedau containers: their float data can be scanned. */
  container: boolean;
}

/** The value each artifact kind decodes to. */
export interface ArtifactValues {
  dataset: Dataset;
  partition: Partition;
  federation: Federation;
  model: StoredModel;
  trace: Trace;
  recording: Recording;
  metrics: Metrics;
  history: History;
  report: ReportFiles;
}

export const CODECS: { [K in ArtifactKind]: Codec<ArtifactValues[K]> } = {
  dataset: { encode: packDataset, decode: unpackDataset, container: true },
  partition: { encode: packPartition, decode: unpackPartition, container: true },
  federation: { encode: packFederation, decode: unpackFederation, container: true },
  model: { encode: packModel, decode: unpackModel, container: true },
  // A trace is assembled from per-round files (packTrace); it has no single value to encode.
  trace: { decode: unpackTrace, container: true },
  // A recording is assembled from per-round files, as a trace is.
  recording: { decode: unpackRecording, container: true },
  metrics: { encode: packMetrics, decode: unpackMetrics, container: false },
  history: { encode: packHistory, decode: unpackHistory, container: false },
  report: { encode: packReport, decode: unpackReport, container: true },
};

export function decodeArtifact<K extends ArtifactKind>(kind: K, bytes: Uint8Array): ArtifactValues[K] {
  return CODECS[kind].decode(bytes) as ArtifactValues[K];
}

/**
 * What can be told of bytes that claim to be an artifact of `kind` without knowing what they should hold: whether
 * they decode as one (a problem in words if not), and whether every float in them is finite.
 */
export function inspectArtifact(kind: ArtifactKind, bytes: Uint8Array): { problem?: string; finite: boolean } {
  try {
    CODECS[kind].decode(bytes);
  } catch (error) {
    return { problem: `it is not a ${kind} artifact (${(error as Error).message})`, finite: false };
  }
  if (!CODECS[kind].container) return { finite: true };
  const { sections } = unpackContainer(bytes, kind);
  for (const data of Object.values(sections)) {
    if (data instanceof Float32Array && !data.every(Number.isFinite)) return { finite: false };
  }
  return { finite: true };
}
