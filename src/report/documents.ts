import type { ModelMetrics } from '../artifacts/metrics.ts';
import { type Chart, describeSettings, FORGET_LABEL } from './charts.ts';
import { type AggregateEntry, groupLabel, type ReportJson, type Stat, type VariantReport } from './report-data.ts';

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
  const forget = FORGET_LABEL[r.forgetMetric];
  return [
    'model',
    `test accuracy (${r.testCount})`,
    `${forget}, test (${r.forgetCount})`,
    `${forget}, forgotten training samples (${r.forgetTrainCount})`,
    ...(r.target !== null ? [`clean accuracy on target class ${r.target}`] : []),
    'membership-inference AUC (0.5 = unseen)',
  ];
}

/** The side-by-side table of one variant. */
function modelTable(r: VariantReport): Table {
  const row = (label: string, m: ModelMetrics | null) => [
    label,
    f4(m?.testAccuracy),
    f4(m?.forget),
    f4(m?.forgetTrain),
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
  const keys = ['testAccuracy', 'forget', 'forgetTrain', ...(r.target !== null ? ['targetAccuracy'] : []), 'miaAuc'];
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

/**
 * Where FedAU falls short of the retrained model, said plainly: test accuracy lost, forgetting that stops short of
 * (or overshoots) the retrained level, a class that collapses, and a membership signal that is still there.
 */
export function shortfalls(v: VariantReport): string[] {
  const r = v.retrained;
  if (!r) return [];
  const u = v.unlearned;
  const out: string[] = [];
  const forgetName = FORGET_LABEL[v.forgetMetric];
  if (r.testAccuracy - u.testAccuracy > 0.01) {
    out.push(
      `Test accuracy: ${f4(u.testAccuracy)} after unlearning against ${f4(r.testAccuracy)} retrained ` +
        `(−${f4(r.testAccuracy - u.testAccuracy)}).`,
    );
  }
  if (u.forget !== null && r.forget !== null && Math.abs(u.forget - r.forget) > 0.02) {
    const word =
      u.forget > r.forget
        ? 'not forgotten as far as retraining does'
        : 'forgotten further than retraining (over-forgetting)';
    out.push(`The ${forgetName} is ${f4(u.forget)} against ${f4(r.forget)} retrained: ${word}.`);
  }
  if (u.forgetTrain !== null && r.forgetTrain !== null && Math.abs(u.forgetTrain - r.forgetTrain) > 0.02) {
    out.push(`On the forgotten training samples: ${f4(u.forgetTrain)} against ${f4(r.forgetTrain)} retrained.`);
  }
  u.perClassAccuracy.forEach((x, c) => {
    const gap = r.perClassAccuracy[c] - x;
    if (gap > 0.05 && c !== v.classId) {
      out.push(
        `Class ${c}: accuracy ${f4(x)} after unlearning against ${f4(r.perClassAccuracy[c])} retrained (−${f4(gap)}).`,
      );
    }
  });
  if (u.miaAuc !== null && r.miaAuc !== null && Math.abs(u.miaAuc - 0.5) - Math.abs(r.miaAuc - 0.5) > 0.02) {
    const how =
      u.miaAuc > 0.5
        ? 'the forgotten samples still look like training data'
        : 'the forgotten samples now look less familiar than unseen ones, which also gives them away';
    out.push(`Membership inference: AUC ${f4(u.miaAuc)} after unlearning against ${f4(r.miaAuc)} retrained: ${how}.`);
  }
  return out;
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
  const falls = variants.flatMap((v) => shortfalls(v).map((t) => (r.aggregate ? `${v.id}: ${t}` : t)));
  out.push({
    heading: 'Where FedAU falls short of the retrained model',
    blocks: [
      {
        text: r.retrained
          ? falls.length
            ? falls.map((t) => `- ${t}`).join('\n')
            : 'Nowhere by more than the thresholds ' +
              '(0.01 test accuracy, 0.02 forget metric and MIA AUC, 0.05 per class).'
          : 'No retrained baseline to compare with.',
      },
    ],
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
