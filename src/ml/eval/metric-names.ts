import type { ForgetMetric } from '../../artifacts/metrics.ts';

/** Short names of the live metrics shown while training (`acc 0.981 · asr 0.930 · ul-asr 0.012`). */
export function metricNames(forget: ForgetMetric) {
  const f = forget === 'backdoor-asr' ? 'asr' : forget === 'class-accuracy' ? 'cls' : 'forget';
  return { acc: 'acc', forget: f, unlearnedAcc: 'ul-acc', unlearnedForget: `ul-${f}` };
}
