import type { ModelMetrics } from '../artifacts/metrics.ts';
import { FORGET_LABEL } from './charts.ts';
import type { AggregateEntry, MethodReport, Stat, VariantReport } from './report-data.ts';

/** The methods in the order the report lists them: the gold standard, FedAU, then the others. */
const ORDER = ['retrain', 'fedau', 'finetune', 'federaser', 'fedrecovery', 'amnesiac', 'pga', 'cdp'];
const LABELS: Record<string, string> = {
  retrain: 'retrain (gold standard)',
  fedau: 'FedAU',
  finetune: 'fine-tuning',
  federaser: 'FedEraser',
  fedrecovery: 'FedRecovery',
  amnesiac: 'Amnesiac',
  pga: 'PGA',
  cdp: 'CDP (pruning)',
};

export const methodLabel = (id: string) => LABELS[id] ?? id;

/** The method ids of a variant, in report order. */
export function methodsOf(v: Pick<VariantReport, 'methods'>): string[] {
  const ids = Object.keys(v.methods ?? {});
  return [...ORDER.filter((id) => ids.includes(id)), ...ids.filter((id) => !ORDER.includes(id)).sort()];
}

/** `forget metric, test (n)` and `..., forgotten training samples (n)`: one column when they are the same set. */
export function forgetColumns(v: VariantReport): string[] {
  const name = FORGET_LABEL[v.forgetMetric];
  if (v.forgetMetric === 'forget-accuracy') return [`${name} (${v.forgetTrainCount}, the forget set itself)`];
  return [`${name}, test (${v.forgetCount})`, `${name}, forgotten training samples (${v.forgetTrainCount})`];
}

const bytes = (n: number) =>
  n >= 1e9
    ? `${(n / 1e9).toFixed(2)} GB`
    : n >= 1e6
      ? `${(n / 1e6).toFixed(1)} MB`
      : n >= 1e3
        ? `${(n / 1e3).toFixed(1)} kB`
        : `${n} B`;
const secs = (x: number) => (x < 1 ? `${(x * 1000).toFixed(1)} ms` : `${x.toFixed(1)} s`);

/** The header of the methods table. */
export function methodsHeader(v: VariantReport): string[] {
  return [
    'method',
    `test accuracy (${v.testCount})`,
    ...forgetColumns(v),
    'classifier MIA AUC (0.5 = chance)',
    'loss MIA AUC',
    `relearn rounds (cap ${v.relearn?.maxRounds ?? 'n/a'})`,
    'agreement with retrain',
    'KL(retrain ‖ method)',
    'L2 to retrain',
    'unlearning time',
    'time added to training',
    'storage kept',
    'rounds of communication',
  ];
}

/** One run: a row per method, and first the FedAU model before unlearning (whose MIA is the attacks' power). */
export function methodsRows(v: VariantReport): string[][] {
  const f = (x: number | null | undefined) => (x === null || x === undefined ? 'n/a' : x.toFixed(4));
  const forget = (m: ModelMetrics) =>
    v.forgetMetric === 'forget-accuracy' ? [f(m.forget)] : [f(m.forget), f(m.forgetTrain)];
  const relearn = (m: ModelMetrics) =>
    m.relearnRounds === null ? 'n/a' : `${m.relearnCapped ? '≥ ' : ''}${m.relearnRounds}`;
  const row = (label: string, m: ModelMetrics, rest: string[]) => [
    label,
    f(m.testAccuracy),
    ...forget(m),
    f(m.mia),
    f(m.miaAuc),
    relearn(m),
    ...rest,
  ];
  const rows = [row('FedAU model before unlearning (the attacks’ power)', v.original, Array(7).fill('—'))];
  for (const id of methodsOf(v)) {
    const m: MethodReport = v.methods[id];
    const c = m.comparison;
    rows.push(
      row(methodLabel(id), m, [
        f(c?.agreement),
        f(c?.kl),
        c ? c.l2.toPrecision(4) : 'n/a',
        secs(m.cost.unlearnSeconds),
        secs(m.cost.learnSeconds),
        bytes(m.cost.storageBytes),
        String(m.cost.rounds),
      ]),
    );
  }
  return rows;
}

/** A figure of an aggregate as `mean ± std` (times `scale`, to `digits` places), or `n/a` when no seed has it. */
export function meanStd(a: AggregateEntry, key: string, digits = 4, scale = 1): string {
  const stat: Stat | undefined = a.figures[key];
  return stat ? `${(stat.mean * scale).toFixed(digits)} ± ${(stat.std * scale).toFixed(digits)}` : 'n/a';
}

/** Over seeds: the same rows, each cell mean ± std. */
export function methodsAggregateRows(v: VariantReport, a: AggregateEntry): string[][] {
  const s = (key: string, digits?: number, scale?: number) => meanStd(a, key, digits, scale);
  const forgetKeys = v.forgetMetric === 'forget-accuracy' ? ['forget'] : ['forget', 'forgetTrain'];
  const model = (prefix: string) => [
    s(`${prefix}.testAccuracy`),
    ...forgetKeys.map((k) => s(`${prefix}.${k}`)),
    s(`${prefix}.mia`),
    s(`${prefix}.miaAuc`),
    s(`${prefix}.relearnRounds`, 1),
  ];
  const rows = [['FedAU model before unlearning (the attacks’ power)', ...model('original'), ...Array(7).fill('—')]];
  for (const id of methodsOf(v)) {
    const p = `methods.${id}`;
    rows.push([
      methodLabel(id),
      ...model(p),
      s(`${p}.comparison.agreement`),
      s(`${p}.comparison.kl`),
      s(`${p}.comparison.l2`, 3),
      s(`${p}.cost.unlearnSeconds`, 2),
      s(`${p}.cost.learnSeconds`, 2),
      s(`${p}.cost.storageBytes`, 1, 1e-6).replace(/$/, ' MB'),
      s(`${p}.cost.rounds`, 0),
    ]);
  }
  return rows;
}
