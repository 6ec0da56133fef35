import type { ModelMetrics } from '../artifacts/metrics.ts';
import { FORGET_LABEL } from './charts.ts';
import { methodLabel, methodsOf } from './methods-table.ts';
import { accuracySe, aucSe, beyondSampling, beyondSeeds } from './noise.ts';
import type { AggregateEntry, ReportJson, VariantReport } from './report-data.ts';

const f4 = (x: number) => x.toFixed(4);

/** A figure where a method and the retrained model may differ, with the sample size behind each value. */
interface Check {
  key: 'testAccuracy' | 'forget' | 'forgetTrain' | 'mia' | 'miaAuc';
  /** Per-class checks carry their class. */
  cls?: number;
  say(m: number, r: number): string | undefined;
  se(x: number, v: VariantReport): number;
}

function checks(v: VariantReport): Check[] {
  const forget = FORGET_LABEL[v.forgetMetric];
  const nonMembers = Math.max(1, Math.floor(v.forgetCount / 2));
  const attack =
    (name: string): Check['say'] =>
    (m, r) =>
      Math.abs(m - 0.5) > Math.abs(r - 0.5)
        ? `${name}: AUC ${f4(m)} against ${f4(r)} retrained: the forgotten samples ` +
          (m > 0.5
            ? 'still look like training data'
            : 'look less familiar than unseen ones, which also gives them away')
        : undefined;
  return [
    {
      key: 'testAccuracy',
      say: (m, r) => (m < r ? `test accuracy ${f4(m)} against ${f4(r)} retrained (−${f4(r - m)})` : undefined),
      se: (x) => accuracySe(x, v.testCount),
    },
    {
      key: 'forget',
      say: (m, r) =>
        `${forget} ${f4(m)} against ${f4(r)} retrained: ` +
        (m > r ? 'not forgotten as far as retraining does' : 'forgotten further than retraining (over-forgetting)'),
      se: (x) => accuracySe(x, v.forgetCount),
    },
    {
      key: 'forgetTrain',
      say: (m, r) => `on the forgotten training samples ${f4(m)} against ${f4(r)} retrained`,
      se: (x) => accuracySe(x, v.forgetTrainCount),
    },
    { key: 'miaAuc', say: attack('loss-threshold MIA'), se: (x) => aucSe(x, v.forgetTrainCount, nonMembers) },
    { key: 'mia', say: attack('classifier MIA'), se: (x) => aucSe(x, v.forgetTrainCount, nonMembers) },
  ];
}

/** The value of a check for a model: a figure, or one class's accuracy. */
const figureOf = (m: ModelMetrics, c: Check) => (c.cls === undefined ? m[c.key] : m.perClassAccuracy[c.cls]);

function perClassChecks(v: VariantReport): Check[] {
  const classes = v.original.perClassAccuracy.length;
  const perClass = (v.testCount + (v.classId !== null ? v.forgetCount : 0)) / classes;
  return v.original.perClassAccuracy.flatMap((_, c) =>
    c === v.classId
      ? []
      : [
          {
            key: 'testAccuracy' as const,
            cls: c,
            say: (m: number, r: number) =>
              m < r ? `class ${c}: accuracy ${f4(m)} against ${f4(r)} retrained` : undefined,
            se: (x: number) => accuracySe(x, perClass),
          },
        ],
  );
}

/**
 * Where each method falls short of the retrained model, said plainly, and only where the difference is beyond
 * noise: for one run, outside the 95% sampling interval; over seeds, outside the 95% t-interval of the per-seed
 * differences.
 */
export function shortfallLines(r: ReportJson): string[] {
  const variants = r.variants ?? [r];
  const out: string[] = [];
  for (const id of methodsOf(variants[0])) {
    if (id === 'retrain') continue;
    const label = methodLabel(id);
    if (r.aggregate) {
      for (const a of r.aggregate)
        out.push(...overSeeds(variants, a, id).map((t) => `${label}${groupTag(r, a)}: ${t}`));
    } else {
      out.push(...oneRun(r, id).map((t) => `${label}: ${t}`));
    }
  }
  return out;
}

function groupTag(r: ReportJson, a: AggregateEntry): string {
  const values = Object.entries(a.values);
  return r.aggregate!.length > 1 && values.length ? ` [${values.map(([k, v]) => `${k}=${v}`).join(', ')}]` : '';
}

function oneRun(v: VariantReport, id: string): string[] {
  const m = v.methods[id];
  const r = v.retrained;
  if (!m || !r) return [];
  return [...checks(v), ...perClassChecks(v)].flatMap((c) => {
    const a = figureOf(m, c);
    const b = figureOf(r, c);
    if (a === null || b === null || !beyondSampling(a, c.se(a, v), b, c.se(b, v))) return [];
    const text = c.say(a, b);
    return text ? [`${text} (beyond the 95% sampling interval).`] : [];
  });
}

function overSeeds(variants: VariantReport[], a: AggregateEntry, id: string): string[] {
  const members = variants.filter((v) => a.variants.includes(v.id) && v.methods[id] && v.retrained);
  if (members.length < 2) return members.length ? oneRun(members[0], id) : [];
  return [...checks(members[0]), ...perClassChecks(members[0])].flatMap((c) => {
    const pairs = members
      .map((v) => [figureOf(v.methods[id], c), figureOf(v.retrained!, c)])
      .filter((p): p is [number, number] => p[0] !== null && p[1] !== null);
    if (pairs.length < 2 || !beyondSeeds(pairs.map(([x, y]) => x - y))) return [];
    const mean = (i: 0 | 1) => pairs.reduce((s, p) => s + p[i], 0) / pairs.length;
    const text = c.say(mean(0), mean(1));
    return text
      ? [`${text} (means over ${pairs.length} seeds; beyond the 95% t-interval of the per-seed differences).`]
      : [];
  });
}
