import { FORGET_LABEL } from './charts.ts';
import { figuresOf, groupLabel, type ReportJson, type Stat } from './report-data.ts';

/** One column of a comparison: a run, or one combination of a matrix run (its figures over seeds). */
export interface Column {
  label: string;
  figures: Record<string, Stat>;
}

/** The figures `fedau compare` shows, in order, with how each reads. */
const ROWS: [string, string][] = [
  ['original.testAccuracy', 'test accuracy, FedAU model'],
  ['unlearned.testAccuracy', 'test accuracy, unlearned'],
  ['retrained.testAccuracy', 'test accuracy, retrained'],
  ['original.forget', 'forget metric, FedAU model'],
  ['unlearned.forget', 'forget metric, unlearned'],
  ['retrained.forget', 'forget metric, retrained'],
  ['unlearned.forgetTrain', 'forget metric on forgotten samples, unlearned'],
  ['retrained.forgetTrain', 'forget metric on forgotten samples, retrained'],
  ['unlearned.targetAccuracy', 'target-class accuracy, unlearned'],
  ['original.miaAuc', 'MIA AUC, FedAU model'],
  ['unlearned.miaAuc', 'MIA AUC, unlearned'],
  ['retrained.miaAuc', 'MIA AUC, retrained'],
  ['comparison.agreement', 'agreement with retrained'],
  ['comparison.kl', 'KL(retrained ‖ unlearned)'],
  ['comparison.maxPerClassGap', 'max per-class gap to retrained'],
  ['seconds.unlearn', 'seconds to unlearn'],
  ['seconds.retrain', 'seconds to retrain'],
  ['costRatio', 'unlearn ÷ retrain time'],
  ['original.mia', "classifier MIA AUC, FedAU model (the attack's power)"],
];

/** Each method's figures, as `fedau compare` shows them after the FedAU rows. */
const METHOD_ROWS: [string, string][] = [
  ['testAccuracy', 'test accuracy'],
  ['forget', 'forget metric'],
  ['forgetTrain', 'forget metric on forgotten samples'],
  ['mia', 'classifier MIA AUC'],
  ['relearnRounds', 'relearn rounds'],
  ['comparison.agreement', 'agreement with retrain'],
  ['comparison.l2', 'L2 to retrain'],
  ['cost.unlearnSeconds', 'seconds to unlearn'],
  ['cost.learnSeconds', 'seconds added to training'],
  ['cost.storageBytes', 'bytes kept'],
];

/** The columns of one report: one per combination of a matrix run, else the run itself. */
export function columnsOf(name: string, report: ReportJson): Column[] {
  if (report.aggregate) {
    return report.aggregate.map((a) => ({
      label: `${name} [${groupLabel(a.values) || 'all'}] n=${a.seeds.length}`,
      figures: a.figures,
    }));
  }
  const figures = Object.fromEntries(Object.entries(figuresOf(report)).map(([k, v]) => [k, { mean: v, std: 0, n: 1 }]));
  return [{ label: name, figures }];
}

/** A table of figures (rows) by runs (columns): "mean ± std" where a column has several seeds. */
export function comparisonTable(columns: Column[], forgetMetrics: string[]): { header: string[]; rows: string[][] } {
  const metric = [...new Set(forgetMetrics)].map((m) => FORGET_LABEL[m] ?? m).join(' / ');
  const cell = (s: Stat | undefined, key: string) => {
    if (!s) return '';
    const digits = key.startsWith('seconds') || key.includes('Seconds') ? 3 : key.includes('storageBytes') ? 0 : 4;
    return s.n > 1 ? `${s.mean.toFixed(digits)} ± ${s.std.toFixed(digits)}` : s.mean.toFixed(digits);
  };
  const methods = [
    ...new Set(
      columns.flatMap((c) =>
        Object.keys(c.figures).flatMap((k) => (k.startsWith('methods.') ? [k.split('.')[1]] : [])),
      ),
    ),
  ];
  const all: [string, string][] = [
    ...ROWS,
    ...methods.flatMap((id) =>
      METHOD_ROWS.map(([k, label]): [string, string] => [`methods.${id}.${k}`, `${id}: ${label}`]),
    ),
  ];
  const rows = all
    .filter(([key]) => columns.some((c) => c.figures[key]))
    .map(([key, label]) => [label.replace('forget metric', metric), ...columns.map((c) => cell(c.figures[key], key))]);
  return { header: ['figure', ...columns.map((c) => c.label)], rows };
}
