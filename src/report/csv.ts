import { type Row, toCsv } from './charts.ts';
import { MODELS } from './documents.ts';
import type { VariantReport } from './report-data.ts';

export function metricsCsv(variants: VariantReport[]): string {
  const rows: Row[] = [];
  for (const v of variants) {
    for (const [key] of MODELS) {
      const m = v[key];
      if (!m) continue;
      rows.push({
        variant: v.id,
        ...stringValues(v.values),
        model: key,
        testAccuracy: m.testAccuracy,
        forget: m.forget,
        forgetTrain: m.forgetTrain,
        targetAccuracy: m.targetAccuracy,
        miaAuc: m.miaAuc,
        ...Object.fromEntries(m.perClassAccuracy.map((x, c) => [`class${c}`, x])),
        agreement: key === 'unlearned' ? (v.comparison?.agreement ?? null) : null,
        kl: key === 'unlearned' ? (v.comparison?.kl ?? null) : null,
        maxPerClassGap: key === 'unlearned' ? (v.comparison?.maxPerClassGap ?? null) : null,
        seconds: key === 'original' ? v.seconds.train : key === 'unlearned' ? v.seconds.unlearn : v.seconds.retrain,
      });
    }
    for (const [id, m] of Object.entries(v.methods ?? {})) {
      rows.push({
        variant: v.id,
        ...stringValues(v.values),
        model: `method:${id}`,
        testAccuracy: m.testAccuracy,
        forget: m.forget,
        forgetTrain: m.forgetTrain,
        targetAccuracy: m.targetAccuracy,
        miaAuc: m.miaAuc,
        mia: m.mia,
        relearnRounds: m.relearnRounds,
        ...Object.fromEntries(m.perClassAccuracy.map((x, c) => [`class${c}`, x])),
        agreement: m.comparison?.agreement ?? null,
        kl: m.comparison?.kl ?? null,
        l2: m.comparison?.l2 ?? null,
        seconds: m.cost.unlearnSeconds,
        learnSeconds: m.cost.learnSeconds,
        storageBytes: m.cost.storageBytes,
        rounds: m.cost.rounds,
      });
    }
  }
  return toCsv(rows);
}

/** One row per variant, training and evaluated round: the per-round curves as data. */
export function historyCsv(variants: VariantReport[]): string {
  const rows: Row[] = [];
  for (const v of variants) {
    const unlearned = new Map((v.curves?.rounds ?? []).map((r) => [r.round, r]));
    for (const h of v.history) {
      rows.push({
        variant: v.id,
        ...stringValues(v.values),
        training: 'fedau',
        round: h.round,
        lr: h.lr,
        loss: h.loss,
        samples: h.samples,
        testAccuracy: h.testAccuracy ?? null,
        forget: h.forget ?? null,
        unlearnedTestAccuracy: unlearned.get(h.round)?.testAccuracy ?? null,
        unlearnedForget: unlearned.get(h.round)?.forget ?? null,
      });
    }
    for (const h of v.retrainHistory ?? []) {
      rows.push({
        variant: v.id,
        ...stringValues(v.values),
        training: 'retrain',
        round: h.round,
        lr: h.lr,
        loss: h.loss,
        samples: h.samples,
        testAccuracy: h.testAccuracy ?? null,
        forget: h.forget ?? null,
      });
    }
  }
  return toCsv(rows);
}

function stringValues(values: Record<string, unknown>): Row {
  return Object.fromEntries(Object.entries(values).map(([k, v]) => [k, typeof v === 'number' ? v : String(v)]));
}
