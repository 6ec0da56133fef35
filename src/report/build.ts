import { type Chart, curvesChart, perClassChart, renderSvg, sweepChart, toCsv } from './charts.ts';
import { historyCsv, metricsCsv } from './csv.ts';
import { methodsChart } from './methods-chart.ts';
import { reportHtml, reportMarkdown } from './render.ts';
import type { ReportJson } from './report-data.ts';

/** Every file of reports/<pipeline>/, by path: the documents, the data, and each chart's spec, data and image. */
export async function reportFiles(report: ReportJson): Promise<Record<string, string>> {
  const variants = report.variants ?? [report];
  const charts = [curvesChart(variants, report.aggregate), perClassChart(variants, report.aggregate)];
  const sweep = sweepChart(variants, report.aggregate);
  if (sweep) charts.push(sweep);
  const methods = methodsChart(variants, report.aggregate);
  if (methods) charts.push(methods);
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
