import { type Chart, FORGET_LABEL, type Row } from './charts.ts';
import { methodLabel, methodsOf } from './methods-table.ts';
import { type AggregateEntry, groupLabel, type VariantReport } from './report-data.ts';

/**
 * Every method's forgetting against its test accuracy (means over seeds), each point sized by what the method cost
 * in seconds (during training and to unlearn); the retrained model is the target, the FedAU model before unlearning
 * the starting point. Undefined when the pipeline judged no method.
 */
export function methodsChart(variants: VariantReport[], aggregate?: AggregateEntry[]): Chart | undefined {
  const first = variants[0];
  if (!first.methods || !Object.keys(first.methods).length || first.forgetMetric === 'none') return undefined;
  const groups = aggregate
    ? aggregate.map((a) => ({
        label: groupLabel(a.values),
        members: variants.filter((v) => a.variants.includes(v.id)),
      }))
    : [{ label: '', members: variants }];
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  const rows: Row[] = [];
  for (const g of groups) {
    const point = (
      method: string,
      pick: (v: VariantReport) => { forget: number | null; testAccuracy: number } | undefined,
      seconds: (v: VariantReport) => number,
    ) => {
      const picked = g.members.map((v) => ({ m: pick(v), s: seconds(v) })).filter((p) => p.m && p.m.forget !== null);
      if (!picked.length) return;
      rows.push({
        group: g.label,
        method,
        forget: mean(picked.map((p) => p.m!.forget!)),
        testAccuracy: mean(picked.map((p) => p.m!.testAccuracy)),
        seconds: mean(picked.map((p) => p.s)),
      });
    };
    point(
      'FedAU model before unlearning',
      (v) => v.original,
      () => 0,
    );
    for (const id of methodsOf(first)) {
      point(
        methodLabel(id),
        (v) => v.methods[id],
        (v) => (v.methods[id] ? v.methods[id].cost.learnSeconds + v.methods[id].cost.unlearnSeconds : 0),
      );
    }
  }
  const forgetName = FORGET_LABEL[first.forgetMetric];
  // Methods are told apart by colour and shape in the legend, not by text beside the points: methods that forget
  // alike sit on top of each other, and their labels would too.
  const single = {
    width: 420,
    height: 300,
    mark: { type: 'point', filled: true, opacity: 0.7, stroke: '#333', strokeWidth: 0.5 },
    encoding: {
      x: {
        field: 'forget',
        type: 'quantitative',
        title: `${forgetName} (lower forgets more)`,
        scale: { domain: [0, 1] },
      },
      y: { field: 'testAccuracy', type: 'quantitative', title: 'test accuracy', scale: { zero: false } },
      size: {
        field: 'seconds',
        type: 'quantitative',
        title: 'cost, s (training + unlearning)',
        scale: { range: [60, 1400] },
        legend: { titleLimit: 300 },
      },
      color: { field: 'method', type: 'nominal', title: 'method', legend: { labelLimit: 300 } },
      shape: { field: 'method', type: 'nominal', title: 'method' },
      tooltip: [{ field: 'method' }, { field: 'forget' }, { field: 'testAccuracy' }, { field: 'seconds' }],
    },
  };
  return {
    name: 'methods',
    title:
      `Every method: ${forgetName} against test accuracy, sized by cost` +
      (variants.length > 1 ? ' (means over seeds)' : ''),
    rows,
    spec: {
      $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
      title: `Forgetting against accuracy, sized by cost${variants.length > 1 ? ', mean over seeds' : ''}`,
      data: { url: 'methods.csv' },
      ...(groups.length > 1
        ? { facet: { row: { field: 'group', type: 'nominal', title: null } }, spec: single }
        : single),
    },
  };
}
