import { packContainer, unpackContainer } from './container.ts';

/**
 * What a training kept for the unlearning methods that need its past (design §7): the global model before every
 * round, each participant's local model every `every` rounds (and in the last round), and, when asked, the summed
 * parameter change of each unlearning client's steps on forget-set samples in every round (Amnesiac). Models are
 * flat float32 vectors in the model's parameter order.
 */
export interface RecordingHeader {
  /** Rounds trained (T): globals G_0 … G_T are kept. */
  rounds: number;
  /** Locals are kept for the rounds t with t % every = 0, and for the last round. */
  every: number;
  /** Each round's participants, in client order, and their normalised FedAvg weights. */
  participants: number[][];
  weights: number[][];
  /** The rounds whose local models are kept. */
  localRounds: number[];
  /** Whether the forget-step sums of the unlearning clients are kept (every round). */
  forgetSteps: boolean;
  /** Parameters per model. */
  size: number;
}

export interface Recording {
  header: RecordingHeader;
  /** G_t, the global model at the start of round t (t = rounds: the final model). */
  global(t: number): Float32Array;
  /** L_t[k], client k's model after its local training in round t; undefined when not kept. */
  local(t: number, k: number): Float32Array | undefined;
  /** The summed change of client k's forget-set steps in round t; undefined when it had none or none were kept. */
  forgetSteps(t: number, k: number): Float32Array | undefined;
}

export const recordingSection = {
  global: (t: number) => `G/${t}`,
  local: (t: number, k: number) => `L/${t}/${k}`,
  forgetSteps: (t: number, k: number) => `A/${t}/${k}`,
};

export function packRecording(header: RecordingHeader, sections: Record<string, Float32Array>): Uint8Array {
  return packContainer('recording', header, sections);
}

export function unpackRecording(bytes: Uint8Array): Recording {
  const { header, sections } = unpackContainer<RecordingHeader>(bytes, 'recording');
  const get = (name: string) => sections[name] as Float32Array | undefined;
  return {
    header,
    global(t) {
      const g = get(recordingSection.global(t));
      if (!g) throw new Error(`the recording has no global model for round ${t}`);
      return g;
    },
    local: (t, k) => get(recordingSection.local(t, k)),
    forgetSteps: (t, k) => get(recordingSection.forgetSteps(t, k)),
  };
}
