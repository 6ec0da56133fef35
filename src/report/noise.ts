/**
 * When a difference between two models is more than noise (design §12). One run: the 95% sampling interval of the
 * difference, from the binomial standard error of each accuracy and Hanley & McNeil's standard error of each AUC.
 * Several seeds: the 95% Student-t interval of the per-seed differences.
 */

/** The standard error of an accuracy p measured on n samples. */
export function accuracySe(p: number, n: number): number {
  return n > 0 ? Math.sqrt((p * (1 - p)) / n) : Number.POSITIVE_INFINITY;
}

/** Hanley & McNeil (1982): the standard error of an AUC from m positives and n negatives. */
export function aucSe(auc: number, m: number, n: number): number {
  if (m <= 0 || n <= 0) return Number.POSITIVE_INFINITY;
  const q1 = auc / (2 - auc);
  const q2 = (2 * auc * auc) / (1 + auc);
  const v = (auc * (1 - auc) + (m - 1) * (q1 - auc * auc) + (n - 1) * (q2 - auc * auc)) / (m * n);
  return Math.sqrt(Math.max(v, 0));
}

/** Whether a − b lies outside the 95% interval of two independent estimates with these standard errors. */
export function beyondSampling(a: number, seA: number, b: number, seB: number): boolean {
  return Math.abs(a - b) > 1.96 * Math.sqrt(seA * seA + seB * seB);
}

/** The 97.5% quantile of Student's t with `df` degrees of freedom (df ≥ 1). */
export function t975(df: number): number {
  const table = [12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228];
  return df <= 10 ? table[Math.max(1, df) - 1] : 1.96 + 2.4 / df;
}

/** Whether the mean of per-seed differences lies outside their 95% t-interval around zero (needs two seeds). */
export function beyondSeeds(differences: number[]): boolean {
  const n = differences.length;
  if (n < 2) return false;
  const mean = differences.reduce((s, d) => s + d, 0) / n;
  const sd = Math.sqrt(differences.reduce((s, d) => s + (d - mean) ** 2, 0) / (n - 1));
  if (sd === 0) return mean !== 0;
  return Math.abs(mean) > (t975(n - 1) * sd) / Math.sqrt(n);
}
