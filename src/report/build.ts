import type { History } from '../artifacts/history.ts';
import type { Metrics } from '../artifacts/metrics.ts';
import { type Chart, curvesChart, perClassChart, renderSvg, sweepChart, toCsv } from './charts.ts';
import { historyCsv, metricsCsv, reportHtml, reportMarkdown } from './documents.ts';
import { aggregate, type ReportJson, type Seconds, type VariantReport } from './report-data.ts';

/** What the report stage gathered for one variant: its evaluation, its trainings' histories and the timings. */
export interface VariantInput {
  id: string;
  values: Record<string, unknown>;
  metrics: Metrics;
  history: History;
  retrainHistory?: History;
  seconds: Seconds;
}

export function variantReport(input: VariantInput): VariantReport {
  const { seconds } = input;
  return {
    id: input.id,
    values: input.values,
    ...input.metrics,
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

/** Every file of reports/<pipeline>/, by path: the documents, the data, and each chart's spec, data and image. */
export async function reportFiles(report: ReportJson): Promise<Record<string, string>> {
  const variants = report.variants ?? [report];
  const charts = [curvesChart(variants, report.aggregate), perClassChart(variants, report.aggregate)];
  const sweep = sweepChart(variants, report.aggregate);
  if (sweep) charts.push(sweep);
  const svgs: Record<string, string> = {};
  const files: Record<string, string> = {};
  for (const chart of charts) {
    svgs[chart.name] = await renderSvg(chart);
    Object.assign(files, chartFiles(chart, svgs[chart.name]));
  }
  return {
    ...files,
    'report.json': `${JSON.stringify(report, null, 2)}\n`,
    'report.md': reportMarkdown(report, charts),
    'report.html': reportHtml(report, charts, svgs),
    'metrics.csv': metricsCsv(variants),
    'history.csv': historyCsv(variants),
  };
}

function chartFiles(chart: Chart, svg: string): Record<string, string> {
  return {
    [`charts/${chart.name}.vl.json`]: `${JSON.stringify(chart.spec, null, 2)}\n`,
    [`charts/${chart.name}.csv`]: toCsv(chart.rows),
    [`charts/${chart.name}.svg`]: svg,
  };
}
