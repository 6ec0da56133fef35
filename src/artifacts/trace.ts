import { packContainer, unpackContainer } from './container.ts';

/**
 * Per-round logits of a FedAU training on the evaluation sets: for every evaluated round, the output of the global
 * classifier W1 and of each unlearning client's head W2 on every sample. Unlearning is linear in the last layer, so
 * the unlearned model's logits for any α, rule or set of forgotten clients are a mix of these, and its per-round
 * curves can follow the `unlearn` stage's settings without training again.
 */
export interface TraceHeader {
  /** The evaluated rounds, in order. */
  rounds: number[];
  /** `global` (W1), then `ul:<client>` for each unlearning client's W2. */
  heads: string[];
  classes: number;
  /** The evaluation sets, with their sample counts. */
  sets: { name: string; count: number }[];
}

export interface Trace {
  header: TraceHeader;
  /** Logits of round r on set s: [sample][head][class], flattened. */
  logits: (round: number, set: string) => Float32Array;
}

const section = (round: number, set: string) => `r${round}:${set}`;

export function packTrace(header: TraceHeader, logits: Map<string, Float32Array>): Uint8Array {
  const sections: Record<string, Float32Array> = {};
  for (const round of header.rounds) {
    for (const set of header.sets) sections[section(round, set.name)] = logits.get(section(round, set.name))!;
  }
  return packContainer('trace', header, sections);
}

export function traceSection(round: number, set: string): string {
  return section(round, set);
}

export function unpackTrace(bytes: Uint8Array): Trace {
  const { header, sections } = unpackContainer<TraceHeader>(bytes, 'trace');
  return {
    header,
    logits: (round, set) => {
      const data = sections[section(round, set)];
      if (!data) throw new Error(`the trace has no logits for round ${round} on set ${set}`);
      return data as Float32Array;
    },
  };
}
