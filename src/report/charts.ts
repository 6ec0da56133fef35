import * as vega from 'vega';
import * as vl from 'vega-lite';
import type { RoundRecord } from '../artifacts/history.ts';
import type { UnlearnSettingsRecord } from '../artifacts/metrics.ts';
import { type AggregateEntry, groupLabel, shortKey, type VariantReport } from './report-data.ts';

export type Row = Record<string, string | number | null>;

/** A chart as the report writes it: a Vega-Lite spec that reads `<name>.csv` beside it, and that data. */
export interface Chart {
  name: string;
  title: string;
  spec: Record<string, unknown>;
  rows: Row[];
}

export const FORGET_LABEL: Record<string, string> = {
  'backdoor-asr': 'backdoor attack success rate',
  'class-accuracy': 'forgotten-class accuracy',
  'forget-accuracy': 'accuracy on the forgotten samples',
  none: 'forget metric',
};

const MODEL_COLORS = {
  domain: ['FedAU model', 'FedAU unlearned', 'retrained'],
  range: ['#1f77b4', '#d62728', '#2ca02c'],
};

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

/** Variants grouped by every varied value but the seed, as the aggregate groups them. */
function groupsOf(variants: VariantReport[], aggregate: AggregateEntry[] | undefined) {
  if (!aggregate) return [{ label: '', members: variants }];
  return aggregate.map((a) => ({
    label: groupLabel(a.values),
    members: variants.filter((v) => a.variants.includes(v.id)),
  }));
}

/** Per-round values of one training, averaged over the seeds of a group, as rows. */
function roundRows(histories: RoundRecord[][], series: string, metrics: [string, keyof RoundRecord][]): Row[] {
  const rows: Row[] = [];
  const rounds = [
    ...new Set(histories.flatMap((h) => h.filter((r) => r.testAccuracy !== undefined).map((r) => r.round))),
  ];
  for (const round of rounds.sort((a, b) => a - b)) {
    for (const [metric, field] of metrics) {
      const values = histories
        .map((h) => h.find((r) => r.round === round)?.[field])
        .filter((x): x is number => typeof x === 'number');
      if (values.length) rows.push({ round, metric, series, value: mean(values) });
    }
  }
  return rows;
}

/**
 * Per-round test accuracy and forget metric of the FedAU global model, the unlearned model (with the settings its
 * curves were computed with) and the retrained model, averaged over seeds.
 */
export function curvesChart(variants: VariantReport[], aggregate?: AggregateEntry[]): Chart {
  const forgetName = FORGET_LABEL[variants[0].forgetMetric];
  const metrics: [string, keyof RoundRecord][] = [
    ['test accuracy', 'testAccuracy'],
    ...(variants[0].forgetMetric === 'none' ? [] : ([[forgetName, 'forget']] as [string, keyof RoundRecord][])),
  ];
  const groups = groupsOf(variants, aggregate);
  const rows: Row[] = [];
  const tag = (series: string, label: string) => (groups.length > 1 ? `${series} (${label})` : series);
  const trainings: Record<string, (v: VariantReport) => RoundRecord[] | null> = {
    'FedAU model': (v) => v.history,
    retrained: (v) => v.retrainHistory,
    'FedAU unlearned': (v) =>
      v.curves?.rounds.map((r) => ({
        round: r.round,
        lr: 0,
        loss: 0,
        samples: 0,
        testAccuracy: r.testAccuracy,
        forget: r.forget ?? undefined,
      })) ?? null,
  };
  for (const [series, pick] of Object.entries(trainings)) {
    const perGroup = groups.map((g) => ({
      label: g.label,
      histories: g.members.map(pick).filter((h): h is RoundRecord[] => h !== null),
    }));
    const made = perGroup.map((p) => (p.histories.length ? roundRows(p.histories, series, metrics) : []));
    // A training every group shares (the federation, when only α varies) is drawn once, untagged.
    const shared = made.every((m) => JSON.stringify(m) === JSON.stringify(made[0]));
    if (shared) rows.push(...made[0]);
    else
      for (const [i, p] of perGroup.entries())
        rows.push(...made[i].map((r) => ({ ...r, series: tag(series, p.label) })));
  }
  const s = variants[0].curves?.settings;
  const settings = s ? ` (unlearned: ${describeSettings(variants[0].mode, s)})` : '';
  return {
    name: 'curves',
    title: `Per-round test accuracy and forgetting${settings}`,
    rows,
    spec: {
      $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
      title: `Per round${variants.length > 1 ? ', mean over seeds' : ''}${settings}`,
      data: { url: 'curves.csv' },
      facet: { column: { field: 'metric', type: 'nominal', title: null, sort: metrics.map(([m]) => m) } },
      spec: {
        width: 300,
        height: 220,
        mark: { type: 'line', point: { size: 20 } },
        encoding: {
          x: { field: 'round', type: 'quantitative', title: 'round', axis: { tickMinStep: 1, format: 'd' } },
          y: { field: 'value', type: 'quantitative', title: null, scale: { domain: [0, 1] } },
          color: {
            field: 'series',
            type: 'nominal',
            title: null,
            scale: seriesColors(rows),
            legend: { labelLimit: 400 },
          },
        },
      },
    },
  };
}

/** Accuracy on each class's test images for the three models (one panel per group of a matrix). */
export function perClassChart(variants: VariantReport[], aggregate?: AggregateEntry[]): Chart {
  const rows: Row[] = [];
  const groups = groupsOf(variants, aggregate);
  for (const g of groups) {
    for (const [model, pick] of [
      ['FedAU model', (v: VariantReport) => v.original],
      ['FedAU unlearned', (v: VariantReport) => v.unlearned],
      ['retrained', (v: VariantReport) => v.retrained],
    ] as const) {
      const perClass = g.members
        .map(pick)
        .filter((m) => m !== null)
        .map((m) => m!.perClassAccuracy);
      if (!perClass.length) continue;
      perClass[0].forEach((_, c) => {
        rows.push({ group: g.label, class: c, model, accuracy: mean(perClass.map((p) => p[c])) });
      });
    }
  }
  const classes = variants[0].original.perClassAccuracy.length;
  const encoding = {
    x: { field: 'class', type: 'ordinal', title: 'class' },
    xOffset: { field: 'model', type: 'nominal', sort: MODEL_COLORS.domain },
    y: { field: 'accuracy', type: 'quantitative', title: 'test accuracy', scale: { domain: [0, 1] } },
    color: { field: 'model', type: 'nominal', title: null, scale: MODEL_COLORS, sort: MODEL_COLORS.domain },
  };
  const single = { width: Math.max(320, classes * 36), height: 220, mark: 'bar', encoding };
  return {
    name: 'per-class',
    title: 'Per-class test accuracy: original, unlearned and retrained',
    rows,
    spec: {
      $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
      title: `Per-class test accuracy${variants.length > 1 ? ', mean over seeds' : ''}`,
      data: { url: 'per-class.csv' },
      ...(groups.length > 1
        ? { facet: { row: { field: 'group', type: 'nominal', title: null } }, spec: single }
        : single),
    },
  };
}

/**
 * The sweep curve of a matrix that varies one numeric value besides the seed (α, usually): the forget metric and
 * the test accuracy of the unlearned model against it (mean ± std over seeds), with the retrained model's mean as a
 * dashed reference line. Undefined when the matrix varies nothing else, or more than one thing.
 */
export function sweepChart(variants: VariantReport[], aggregate?: AggregateEntry[]): Chart | undefined {
  if (!aggregate) return undefined;
  const keys = Object.keys(aggregate[0].values);
  if (keys.length !== 1 || !aggregate.every((a) => typeof a.values[keys[0]] === 'number')) return undefined;
  const key = keys[0];
  const forget = variants[0].forgetMetric === 'none' ? undefined : FORGET_LABEL[variants[0].forgetMetric];
  const figures: [string, string][] = [
    ['test accuracy', 'testAccuracy'],
    ...(forget ? [[forget, 'forget'] as [string, string]] : []),
  ];
  const rows: Row[] = [];
  for (const a of aggregate) {
    for (const [metric, field] of figures) {
      const s = a.figures[`unlearned.${field}`];
      if (s)
        rows.push({
          x: a.values[key] as number,
          metric,
          model: 'FedAU unlearned',
          mean: s.mean,
          lo: s.mean - s.std,
          hi: s.mean + s.std,
        });
    }
  }
  for (const [metric, field] of figures) {
    const values = variants
      .map((v) => v.retrained?.[field as 'forget'])
      .filter((x): x is number => typeof x === 'number');
    if (values.length) rows.push({ x: null, metric, model: 'retrained', mean: mean(values), lo: null, hi: null });
  }
  const x = { field: 'x', type: 'quantitative', title: shortKey(key) };
  const color = {
    field: 'model',
    type: 'nominal',
    title: null,
    scale: { domain: MODEL_COLORS.domain.slice(1), range: MODEL_COLORS.range.slice(1) },
  };
  const only = (model: string) => [{ filter: `datum.model === '${model}'` }];
  return {
    name: 'sweep',
    title: `Unlearning against ${shortKey(key)}, mean ± std over seeds; dashed: the retrained model`,
    rows,
    spec: {
      $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
      title: `Unlearned model against ${shortKey(key)} (mean ± std over seeds); dashed: retrained`,
      data: { url: 'sweep.csv' },
      facet: { column: { field: 'metric', type: 'nominal', title: null, sort: figures.map(([m]) => m) } },
      spec: {
        width: 280,
        height: 220,
        layer: [
          {
            transform: only('FedAU unlearned'),
            mark: 'errorbar',
            encoding: { x, y: { field: 'lo', type: 'quantitative' }, y2: { field: 'hi' }, color },
          },
          {
            transform: only('FedAU unlearned'),
            mark: { type: 'line', point: true },
            encoding: { x, y: { field: 'mean', type: 'quantitative', title: null, scale: { domain: [0, 1] } }, color },
          },
          {
            transform: only('retrained'),
            mark: { type: 'rule', strokeDash: [6, 4] },
            encoding: { y: { field: 'mean', type: 'quantitative' }, color },
          },
        ],
      },
    },
  };
}

/** Colours for the curve series: the three models keep their colours; the groups of a matrix get their own. */
function seriesColors(rows: Row[]) {
  const domain = [...new Set(rows.map((r) => String(r.series)))];
  if (domain.every((s) => MODEL_COLORS.domain.includes(s))) {
    return { domain, range: domain.map((s) => MODEL_COLORS.range[MODEL_COLORS.domain.indexOf(s)]) };
  }
  return { domain, scheme: 'tableau10' };
}

export function describeSettings(
  mode: string,
  s: Pick<UnlearnSettingsRecord, 'alpha' | 'rule' | 'classScale'>,
): string {
  if (mode === 'class') return `W1 − ${s.classScale}·mean W2`;
  return s.rule === 'mix' ? `(1−α)·W1 + α·mean W2, α = ${s.alpha}` : `α·mean W2, α = ${s.alpha}`;
}

/** The chart as an SVG image: its spec compiled by Vega-Lite and rendered by Vega, headless, with the rows inline. */
export async function renderSvg(chart: Chart): Promise<string> {
  const spec = { ...chart.spec, data: { values: chart.rows } };
  const view = new vega.View(vega.parse(vl.compile(spec as vl.TopLevelSpec).spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

/** CSV with a header row: what the spec beside it reads. */
export function toCsv(rows: Row[]): string {
  const columns = [...new Set(rows.flatMap((r) => Object.keys(r)))];
  const cell = (v: unknown) => {
    if (v === null || v === undefined) return '';
    const s = String(v);
    return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
  };
  return `${[columns.join(','), ...rows.map((r) => columns.map((c) => cell(r[c])).join(','))].join('\n')}\n`;
}
