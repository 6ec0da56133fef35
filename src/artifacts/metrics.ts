import { canonicalJson } from '../util/canonical-json.ts';

/** The evaluation, as stored (deterministic: no timings inside; they travel in the artifact's meta). */
export interface Metrics {
  dataset: string;
  model: string;
  mode: string;
  clients: number;
  unlearningClients: number[];
  forgottenClients: number[];
  rounds: number;
  backend: string;
  forgetMetric: string;
  testCount: number;
  forgetCount: number;
  original: { testAccuracy: number; forget: number | null };
  unlearned: { testAccuracy: number; forget: number | null };
}

/** Canonical JSON: the same evaluation gives the same bytes, so the report stays cached when nothing changed. */
export function packMetrics(m: Metrics): Uint8Array {
  return new TextEncoder().encode(canonicalJson(m));
}

export function unpackMetrics(bytes: Uint8Array): Metrics {
  return JSON.parse(new TextDecoder().decode(bytes)) as Metrics;
}
