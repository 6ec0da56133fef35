import type { ModelMetrics } from '../artifacts/metrics.ts';
import { type Chart, describeSettings } from './charts.ts';
import { forgetColumns, methodsAggregateRows, methodsHeader, methodsRows } from './methods-table.ts';
import { type AggregateEntry, groupLabel, type ReportJson, type Stat, type VariantReport } from './report-data.ts';
import { shortfallLines } from './shortfalls.ts';

/** A table: header and rows of already formatted cells. Both documents render the same tables. */
export interface Table {
  header: string[];
  rows: string[][];
}

/** A section of the report: a heading, paragraphs, tables and charts, in order. */
export interface Section {
  heading: string;
  blocks: ({ text: string } | { table: Table } | { chart: string; title: string })[];
}

const f4 = (x: number | null | undefined) => (x === null || x === undefined ? 'n/a' : x.toFixed(4));
const pm = (s: Stat | undefined) => (s ? `${s.mean.toFixed(4)} ± ${s.std.toFixed(4)}` : 'n/a');
const seconds = (x: number | null) =>
  x === null ? 'n/a' : x < 1 ? `${(x * 1000).toFixed(1)} ms` : `${x.toFixed(1)} s`;
export const MODELS = [
  ['original', 'FedAU model (before unlearning)'],
  ['unlearned', 'FedAU unlearned'],
  ['retrained', 'retrained from scratch (gold standard)'],
] as const;

function modelColumns(r: VariantReport): string[] {
  return [
    'model',
    `test accuracy (${r.testCount})`,
    ...forgetColumns(r),
    ...(r.target !== null ? [`clean accuracy on target class ${r.target}`] : []),
    'membership-inference AUC (0.5 = unseen)',
  ];
}

/** The side-by-side table of one variant. */
function modelTable(r: VariantReport): Table {
  const row = (label: string, m: ModelMetrics | null) => [
    label,
    f4(m?.testAccuracy),
    ...(r.forgetMetric === 'forget-accuracy' ? [f4(m?.forget)] : [f4(m?.forget), f4(m?.forgetTrain)]),
    ...(r.target !== null ? [f4(m?.targetAccuracy)] : []),
    f4(m?.miaAuc),
  ];
  return { header: modelColumns(r), rows: MODELS.map(([key, label]) => row(label, r[key])) };
}

/** Unlearned against retrained, and the cost, over seeds: mean ± std. */
function aggregateComparisonTable(a: AggregateEntry): Table | undefined {
  if (!a.figures['comparison.agreement']) return undefined;
  const s = (key: string, digits = 4) => {
    const stat = a.figures[key];
    return stat ? `${stat.mean.toPrecision(digits)} ± ${stat.std.toPrecision(2)}` : 'n/a';
  };
  return {
    header: [
      'agreement with retrained',
      'KL(retrained ‖ unlearned)',
      'max per-class gap',
      'seconds to unlearn',
      'seconds to retrain',
      'unlearn ÷ retrain time',
    ],
    rows: [
      [
        s('comparison.agreement'),
        s('comparison.kl'),
        s('comparison.maxPerClassGap'),
        s('seconds.unlearn', 3),
        s('seconds.retrain', 4),
        s('costRatio', 2),
      ],
    ],
  };
}

/** The same table over seeds: mean ± std of each figure. */
function aggregateTable(r: VariantReport, a: AggregateEntry): Table {
  const cell = (model: string, key: string) => pm(a.figures[`${model}.${key}`]);
  const forgetKeys = r.forgetMetric === 'forget-accuracy' ? ['forget'] : ['forget', 'forgetTrain'];
  const keys = ['testAccuracy', ...forgetKeys, ...(r.target !== null ? ['targetAccuracy'] : []), 'miaAuc'];
  return { header: modelColumns(r), rows: MODELS.map(([model, label]) => [label, ...keys.map((k) => cell(model, k))]) };
}

function comparisonText(v: VariantReport): string {
  if (!v.comparison || !v.retrained)
    return 'No retrained baseline in this pipeline: add a `retrain` stage to compare with it.';
  const gaps = v.unlearned.perClassAccuracy.map((x, c) => Math.abs(x - v.retrained!.perClassAccuracy[c]));
  const worst = gaps.indexOf(Math.max(...gaps));
  return (
    `Unlearned against retrained, on the whole test set: the predictions agree on ${f4(v.comparison.agreement)} of ` +
    `the images; mean KL(retrained ‖ unlearned) = ${f4(v.comparison.kl)} nats; the largest per-class accuracy ` +
    `difference is ${f4(v.comparison.maxPerClassGap)} (class ${worst}: ${f4(v.unlearned.perClassAccuracy[worst])} ` +
    `against ${f4(v.retrained.perClassAccuracy[worst])}).`
  );
}

/** `, 5 of 10 clients a round (C = 0.5)` under partial participation; nothing when every client trains. */
function participation(r: ReportJson): string {
  const c = r.clientFraction;
  return c && c < 1 ? `, ${Math.max(1, Math.ceil(c * r.clients))} of ${r.clients} clients a round (C = ${c})` : '';
}

export function setupText(r: ReportJson): string {
  if (r.variants) {
    const varied = [...new Set(r.variants.flatMap((v) => Object.keys(v.values)))];
    const values = (k: string) => [...new Set(r.variants!.map((v) => String(v.values[k])))].join(', ');
    return (
      `${r.clients} clients, unlearning clients of the first variant [${r.unlearningClients.join(', ')}], ` +
      `${r.rounds} rounds${participation(r)}, backend ${r.backend}. ` +
      `The matrix varies ${varied.map((k) => `${k} (${values(k)})`).join(' and ')}: ` +
      `${r.variants.length} variants; figures are per combination, as mean ± sample std over the seeds.` +
      (r.failedVariants?.length ? ` Failed, left out: ${r.failedVariants.join('; ')}.` : '')
    );
  }
  const s = r.settings;
  const curves = r.curves?.settings;
  const same = curves && JSON.stringify(curves) === JSON.stringify(s);
  return (
    `${r.clients} clients, unlearning clients [${r.unlearningClients.join(', ')}], ` +
    `forgotten [${r.forgottenClients.join(', ')}], ` +
    `${r.rounds} rounds${participation(r)}, backend ${r.backend}. Unlearning: ${describeSettings(r.mode, s)}. ` +
    (curves
      ? same
        ? 'The per-round curves use the same settings.'
        : `The per-round curves use other settings: ${describeSettings(r.mode, curves)}, ` +
          `clients [${curves.clients.join(', ')}].`
      : '')
  );
}

function costText(v: VariantReport): string {
  const t = v.seconds;
  return (
    `Cost: training ${seconds(t.train)}, unlearning ${seconds(t.unlearn)}, retraining ${seconds(t.retrain)}` +
    (v.costRatio !== null ? ` (unlearning takes ${(v.costRatio * 100).toPrecision(2)}% of a retrain's time)` : '') +
    `, evaluation ${seconds(t.evaluate)}.`
  );
}

function perRoundTable(v: VariantReport): Table {
  const retrained = new Map((v.retrainHistory ?? []).map((r) => [r.round, r]));
  const unlearned = new Map((v.curves?.rounds ?? []).map((r) => [r.round, r]));
  return {
    header: [
      'round',
      'lr',
      'loss',
      'test acc',
      'forget',
      'unlearned test acc',
      'unlearned forget',
      'retrained test acc',
      'retrained forget',
    ],
    rows: v.history
      .filter((h) => h.testAccuracy !== undefined)
      .map((h) => [
        String(h.round),
        h.lr.toPrecision(4),
        h.loss.toFixed(4),
        f4(h.testAccuracy),
        f4(h.forget),
        f4(unlearned.get(h.round)?.testAccuracy),
        f4(unlearned.get(h.round)?.forget),
        f4(retrained.get(h.round)?.testAccuracy),
        f4(retrained.get(h.round)?.forget),
      ]),
  };
}

function perClassTable(v: VariantReport): Table {
  return {
    header: ['model', ...v.original.perClassAccuracy.map((_, c) => `class ${c}`)],
    rows: MODELS.filter(([k]) => v[k]).map(([k, label]) => [label, ...v[k]!.perClassAccuracy.map((x) => x.toFixed(3))]),
  };
}

/** Every section of the report, shared by the Markdown and the HTML. */
export function sections(r: ReportJson, charts: Chart[]): Section[] {
  const variants = r.variants ?? [r];
  const out: Section[] = [];
  if (r.aggregate) {
    out.push({
      heading: `Results: mean ± std over seeds (${variants.length} variants)`,
      blocks: r.aggregate.flatMap((a) => {
        const comparison = aggregateComparisonTable(a);
        return [
          { text: `**${groupLabel(a.values) || r.pipeline}**: seeds ${a.seeds.join(', ')}.` },
          { table: aggregateTable(r, a) },
          ...(comparison ? [{ table: comparison }] : []),
        ];
      }),
    });
  } else {
    out.push({
      heading: 'Results',
      blocks: [{ table: modelTable(r) }, { text: comparisonText(r) }, { text: costText(r) }],
    });
  }
  if (Object.keys(r.methods ?? {}).length) out.push(methodsSection(r));
  const falls = shortfallLines(r);
  const noise = r.aggregate
    ? 'the 95% t-interval of the per-seed differences'
    : 'the 95% sampling interval (binomial standard errors for accuracies, Hanley–McNeil for AUCs)';
  out.push({
    heading: 'Where each method falls short of the retrained model',
    // The list is a block of its own, so the HTML page renders it as a list.
    blocks: !r.retrained
      ? [{ text: 'No retrained baseline to compare with.' }]
      : falls.length
        ? [{ text: `Differences beyond ${noise}:` }, { text: falls.map((t) => `- ${t}`).join('\n') }]
        : [{ text: `Nowhere beyond ${noise}.` }],
  });
  out.push({ heading: 'Charts', blocks: charts.map((c) => ({ chart: c.name, title: c.title })) });
  if (r.variants) {
    out.push({
      heading: 'Every variant',
      blocks: variants.flatMap((v) => [
        { text: `**${v.id}**` },
        { table: modelTable(v) },
        { text: `${comparisonText(v)} ${costText(v)}` },
      ]),
    });
  } else {
    out.push({ heading: 'Per class', blocks: [{ table: perClassTable(r) }] });
    out.push({ heading: 'Per round', blocks: [{ table: perRoundTable(r) }] });
  }
  return out;
}

/** Every method of the pipeline in one table (mean ± std over seeds with a matrix), and what its columns mean. */
function methodsSection(r: ReportJson): Section {
  const v = r.variants?.[0] ?? r;
  const tables = r.aggregate
    ? r.aggregate.map((a) => ({ table: { header: methodsHeader(v), rows: methodsAggregateRows(v, a) } }))
    : [{ table: { header: methodsHeader(v), rows: methodsRows(v) } }];
  const relearn = v.relearn
    ? `Relearn rounds: FedAvg rounds of the forgotten clients on their forget data (lr ${v.relearn.lr}, one epoch ` +
      `each) until the forget metric is back to ${v.relearn.threshold.toFixed(3)}, half the FedAU model's; ` +
      `"≥ ${v.relearn.maxRounds}" when it never was within the cap. A model that truly forgot relearns as slowly ` +
      'as the retrained one.'
    : 'Relearn time is not measured in this mode.';
  return {
    heading: r.aggregate ? `Every method, mean ± std over seeds` : 'Every method',
    blocks: [
      {
        text:
          "One evaluation for every method. The classifier MIA is trained on each model's loss, confidence and " +
          'entropy for retained training samples against unseen ones, then scores the forget set against held-out ' +
          "unseen samples (0.5 = cannot tell); its figure on the FedAU model before unlearning is the attack's " +
          'power: an attack that cannot tell members there cannot judge forgetting anywhere. ' +
          relearn,
      },
      ...tables,
    ],
  };
}
