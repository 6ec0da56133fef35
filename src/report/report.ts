import type { History, RoundRecord } from '../artifacts/history.ts';
import type { Metrics } from '../artifacts/metrics.ts';
import { lineChart, svgDocument } from './svg-chart.ts';

/** report.json: the evaluation, the pipeline's name, the timings and the per-round history. */
export interface ReportJson extends Metrics {
  pipeline: string;
  seconds: { train: number; unlearn: number; evaluate: number };
  history: RoundRecord[];
}

const FORGET_LABEL: Record<string, string> = {
  'backdoor-asr': 'backdoor attack success rate',
  'class-accuracy': 'forgotten-class accuracy',
  none: 'forget metric',
};
const r4 = (x: number) => Math.round(x * 10000) / 10000;

export function buildReportJson(
  pipeline: string,
  m: Metrics,
  h: History,
  seconds: { train: number; unlearn: number; evaluate: number },
): ReportJson {
  return {
    pipeline,
    ...m,
    seconds: {
      train: r4(seconds.train),
      unlearn: r4(seconds.unlearn),
      evaluate: r4(seconds.evaluate),
    },
    history: h.rounds,
  };
}

/** Per-round curves: test accuracy and the forget metric, before and after unlearning. */
export function curvesSvg(r: ReportJson): string {
  const evaluated = r.history.filter((x) => x.testAccuracy !== undefined);
  const pts = (pick: (x: RoundRecord) => number | undefined) =>
    evaluated.filter((x) => pick(x) !== undefined).map((x) => [x.round, pick(x)!] as [number, number]);
  const forgetName = FORGET_LABEL[r.forgetMetric] ?? r.forgetMetric;
  return svgDocument([
    lineChart({
      title: `Test accuracy (${r.dataset}, ${r.model})`,
      xLabel: 'round',
      yLabel: 'accuracy',
      series: [
        { name: 'global model', points: pts((x) => x.testAccuracy), color: '#1f77b4' },
        { name: 'unlearned model', points: pts((x) => x.unlearnedTestAccuracy), color: '#d62728', dashed: true },
      ],
    }),
    lineChart({
      title: `Forgetting: ${forgetName}`,
      xLabel: 'round',
      yLabel: forgetName,
      series: [
        { name: 'global model', points: pts((x) => x.forget), color: '#1f77b4' },
        { name: 'unlearned model', points: pts((x) => x.unlearnedForget), color: '#d62728', dashed: true },
      ],
    }),
  ]);
}

export function reportMarkdown(r: ReportJson): string {
  const f = (x: number | null) => (x === null ? 'n/a' : x.toFixed(4));
  const forgetName = FORGET_LABEL[r.forgetMetric] ?? r.forgetMetric;
  const lines = [
    `# ${r.pipeline}: FedAU ${r.mode} unlearning on ${r.dataset} (${r.model})`,
    '',
    `${r.clients} clients, unlearning clients [${r.unlearningClients.join(', ')}], ` +
      `forgotten [${r.forgottenClients.join(', ')}], ${r.rounds} rounds, backend ${r.backend}.`,
    '',
    `| model | test accuracy (${r.testCount} images) | ${forgetName} (${r.forgetCount} images) |`,
    '| --- | --- | --- |',
    `| original | ${f(r.original.testAccuracy)} | ${f(r.original.forget)} |`,
    `| unlearned | ${f(r.unlearned.testAccuracy)} | ${f(r.unlearned.forget)} |`,
    '',
    `Time: training ${r.seconds.train.toFixed(1)} s, unlearning ${r.seconds.unlearn.toFixed(3)} s, ` +
      `evaluation ${r.seconds.evaluate.toFixed(1)} s.`,
    '',
    '![per-round curves](curves.svg)',
    '',
    '## Per round',
    '',
    '| round | lr | loss | test acc | forget | unlearned test acc | unlearned forget |',
    '| --- | --- | --- | --- | --- | --- | --- |',
    ...r.history.map(
      (x) =>
        `| ${x.round} | ${x.lr.toPrecision(4)} | ${x.loss.toFixed(4)} | ${opt(x.testAccuracy)} | ${opt(x.forget)} | ` +
        `${opt(x.unlearnedTestAccuracy)} | ${opt(x.unlearnedForget)} |`,
    ),
    '',
  ];
  return lines.join('\n');
}

const opt = (x?: number) => (x === undefined ? '' : x.toFixed(4));
