import type { History } from '../artifacts/history.ts';
import type { Metrics } from '../artifacts/metrics.ts';
import { aggregate, type ReportJson, type Seconds, type VariantReport } from './report-data.ts';

/** What the report stage gathered for one variant: its evaluation, its trainings' histories and the timings. */
export interface VariantInput {
  id: string;
  values: Record<string, unknown>;
  metrics: Metrics;
  history: History;
  retrainHistory?: History;
  seconds: Seconds;
  /** Each method's seconds during training and to unlearn (from the evaluation's meta). */
  methodSeconds: Record<string, { learnSeconds: number; unlearnSeconds: number }>;
}

export function variantReport(input: VariantInput): VariantReport {
  const { seconds } = input;
  return {
    id: input.id,
    values: input.values,
    ...input.metrics,
    methods: Object.fromEntries(
      Object.entries(input.metrics.methods ?? {}).map(([id, m]) => [
        id,
        { ...m, cost: { ...m.cost, ...(input.methodSeconds[id] ?? { learnSeconds: 0, unlearnSeconds: 0 }) } },
      ]),
    ),
    seconds,
    costRatio: seconds.retrain ? seconds.unlearn / seconds.retrain : null,
    history: input.history.rounds,
    retrainHistory: input.retrainHistory?.rounds ?? null,
  };
}

/** report.json: the first variant's figures at the top level, and with a matrix every variant and the aggregate. */
export function reportJson(pipeline: string, variants: VariantReport[], failed: string[], matrix: boolean): ReportJson {
  const first = variants[0];
  if (!matrix) return { pipeline, ...first };
  return { pipeline, ...first, variant: first.id, variants, aggregate: aggregate(variants), failedVariants: failed };
}
