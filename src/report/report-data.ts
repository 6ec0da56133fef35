import type { RoundRecord } from '../artifacts/history.ts';
import type { MethodMetrics, Metrics } from '../artifacts/metrics.ts';

/** Wall-clock seconds of each step of a variant (from the artifacts' meta: never part of their bytes). */
export interface Seconds {
  train: number;
  retrain: number | null;
  unlearn: number;
  evaluate: number;
}

/** A method as report.json shows it: its figures, and its cost with the seconds from the artifacts' meta. */
export interface MethodReport extends MethodMetrics {
  cost: MethodMetrics['cost'] & { learnSeconds: number; unlearnSeconds: number };
}

/** One variant of a run (the only one without a matrix): its figures, timings and per-round histories. */
export interface VariantReport extends Omit<Metrics, 'methods'> {
  methods: Record<string, MethodReport>;
  /** `seed=1,forget.alpha=0.5`; '' without a matrix. */
  id: string;
  /** The varied values this variant ran with. */
  values: Record<string, unknown>;
  seconds: Seconds;
  /** Seconds to unlearn ÷ seconds to retrain: how much of a retrain FedAU's forgetting costs. */
  costRatio: number | null;
  history: RoundRecord[];
  retrainHistory: RoundRecord[] | null;
}

export interface Stat {
  mean: number;
  std: number;
  n: number;
}

/** A figure's mean and sample standard deviation over the seeds of one combination of the other varied values. */
export interface AggregateEntry {
  values: Record<string, unknown>;
  seeds: unknown[];
  variants: string[];
  figures: Record<string, Stat>;
}

/**
 * report.json. Without a matrix its top level is the run's figures (as before: scripts read them). A matrix run's
 * top level is its first variant (named by `variant`), and it adds `variants` and `aggregate`.
 */
export interface ReportJson extends VariantReport {
  pipeline: string;
  variant?: string;
  variants?: VariantReport[];
  aggregate?: AggregateEntry[];
  failedVariants?: string[];
}

/** The figures of a model that are averaged over seeds. */
export const MODEL_FIGURES = [
  'testAccuracy',
  'forget',
  'forgetTrain',
  'targetAccuracy',
  'miaAuc',
  'mia',
  'relearnRounds',
] as const;

/** The numeric figures of a variant, flattened: `unlearned.forget`, `comparison.kl`, `seconds.retrain`... */
export function figuresOf(v: VariantReport): Record<string, number> {
  const out: Record<string, number> = {};
  const put = (path: string, x: unknown) => {
    if (typeof x === 'number' && Number.isFinite(x)) out[path] = x;
  };
  for (const model of ['original', 'unlearned', 'retrained'] as const) {
    const m = v[model];
    if (!m) continue;
    for (const key of MODEL_FIGURES) put(`${model}.${key}`, m[key]);
    for (const [c, x] of m.perClassAccuracy.entries()) put(`${model}.perClassAccuracy.${c}`, x);
  }
  for (const [id, m] of Object.entries(v.methods ?? {})) {
    for (const key of MODEL_FIGURES) put(`methods.${id}.${key}`, m[key]);
    for (const [k, x] of Object.entries(m.comparison ?? {})) put(`methods.${id}.comparison.${k}`, x);
    for (const [k, x] of Object.entries(m.cost)) put(`methods.${id}.cost.${k}`, x);
  }
  for (const [k, x] of Object.entries(v.comparison ?? {})) put(`comparison.${k}`, x);
  for (const [k, x] of Object.entries(v.seconds)) put(`seconds.${k}`, x);
  put('costRatio', v.costRatio);
  return out;
}

function stat(xs: number[]): Stat {
  const n = xs.length;
  const mean = xs.reduce((a, b) => a + b, 0) / n;
  // The sample standard deviation (n − 1): what "± std over 3 seeds" means in a paper.
  const std = n > 1 ? Math.sqrt(xs.reduce((a, x) => a + (x - mean) ** 2, 0) / (n - 1)) : 0;
  return { mean, std, n };
}

/** Groups the variants by every varied value but the seed, and takes each figure's mean and std over the seeds. */
export function aggregate(variants: VariantReport[]): AggregateEntry[] {
  const groups = new Map<string, VariantReport[]>();
  for (const v of variants) {
    const { seed: _seed, ...rest } = v.values;
    const key = JSON.stringify(rest);
    groups.set(key, [...(groups.get(key) ?? []), v]);
  }
  return [...groups.values()].map((members) => {
    const { seed: _seed, ...values } = members[0].values;
    const all = members.map(figuresOf);
    const names = [...new Set(all.flatMap((f) => Object.keys(f)))];
    const figures = Object.fromEntries(
      names.map((name) => [name, stat(all.map((f) => f[name]).filter((x) => x !== undefined))]),
    );
    return { values, seeds: members.map((m) => m.values.seed ?? null), variants: members.map((m) => m.id), figures };
  });
}

/** `α=0.5` for a group's values (the seed aside), or the pipeline's name when nothing else varies. */
export function groupLabel(values: Record<string, unknown>): string {
  const parts = Object.entries(values).map(([k, v]) => `${shortKey(k)}=${v}`);
  return parts.join(', ');
}

/** `forget.alpha` → `α`; other keys keep their last segment. */
export function shortKey(key: string): string {
  const last = key.split('.').at(-1)!;
  return last === 'alpha' ? 'α' : last === 'gamma' ? 'γ' : last;
}
