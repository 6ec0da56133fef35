import type { Weights } from '../../artifacts/model.ts';
import type { Recording } from '../../artifacts/recording.ts';
import { combine, split } from './vectors.ts';

/**
 * Amnesiac unlearning adapted to federated learning (Graves et al. 2021; design §7.3): the final model minus, for
 * every round and every forgotten client, that client's summed parameter change on the batches that held forget-set
 * samples, weighted as FedAvg weighted the client that round. `scale` 1 is the published method.
 */
export function amnesiacUnlearn(
  final: Weights,
  recording: Recording,
  clients: number[],
  scale = 1,
): { weights: Weights; storedBytes: number } {
  const h = recording.header;
  if (!h.forgetSteps) throw new Error('the recording holds no forget-step changes');
  const sizes = final.map((t) => t.length);
  const terms: { scale: number; weights: Weights }[] = [{ scale: 1, weights: final }];
  let storedBytes = 0;
  for (let t = 0; t < h.rounds; t++) {
    for (const k of clients) {
      const steps = recording.forgetSteps(t, k);
      const at = h.participants[t].indexOf(k);
      if (!steps || at < 0) continue;
      storedBytes += steps.byteLength;
      terms.push({ scale: -scale * h.weights[t][at], weights: split(steps, sizes) });
    }
  }
  return { weights: combine(terms), storedBytes };
}
