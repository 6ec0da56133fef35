import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { packContainer, unpackContainer } from '../artifacts/container.ts';
import { packRecording, type RecordingHeader, recordingSection } from '../artifacts/recording.ts';
import { DataError } from '../core/errors.ts';
import { sha256 } from '../core/hash.ts';
import { flattenWeights } from '../ml/models/params.ts';
import type { ClientResult } from '../ml/train/job.ts';
import type { TrainState } from './state.ts';

/** What a training keeps for the methods that need its past (the train-federation stage's `record`). */
export interface RecordOptions {
  /** Keep the participants' local models every `every` rounds (and in the last one). */
  every: number;
  /** Keep each unlearning client's summed change of its forget-set steps, every round (Amnesiac). */
  forgetSteps: boolean;
}

/**
 * Writes one file per round beside the checkpoint (so a resumed training keeps what earlier processes recorded,
 * attested by the checkpoint like the trace files), and assembles them into the recording artifact at the end.
 * It only reads what the round loop computed: recording changes no byte of the training.
 */
export class RoundRecorder {
  /** Wall-clock seconds spent recording in this process: what the methods that need it cost during training. */
  seconds = 0;

  constructor(
    private readonly opts: RecordOptions & { rounds: number; dir: string; weightOf: (client: number) => number },
  ) {}

  keepsLocals(round: number): boolean {
    return round % this.opts.every === 0 || round === this.opts.rounds - 1;
  }

  /** Records round `before.round`; returns the file's name (relative to the checkpoint folder) and digest. */
  async onRound(before: TrainState, results: ClientResult[]): Promise<[string, string]> {
    const t0 = performance.now();
    const t = before.round;
    const participants = results.map((r) => r.client);
    const raw = participants.map(this.opts.weightOf);
    const total = raw.reduce((a, b) => a + b, 0);
    const sections: Record<string, Float32Array> = { G: flattenWeights(before.weights) };
    for (const r of results) {
      if (this.keepsLocals(t)) sections[`L/${r.client}`] = flattenWeights(r.weights);
      if (r.forgetSteps?.some((w) => w.some((v) => v !== 0))) {
        sections[`A/${r.client}`] = flattenWeights(r.forgetSteps);
      }
    }
    const bytes = packContainer(
      'recording-round',
      { round: t, participants, weights: raw.map((w) => w / total) },
      sections,
    );
    await mkdir(join(this.opts.dir, 'record'), { recursive: true });
    await writeFile(join(this.opts.dir, 'record', `r${t}.bin`), bytes);
    this.seconds += (performance.now() - t0) / 1000;
    return [`record/r${t}.bin`, sha256(bytes)];
  }

  /** The recording artifact of a finished training, from its round files (each checked against its digest). */
  async assemble(final: TrainState, digests: Record<string, string>): Promise<Uint8Array> {
    const t0 = performance.now();
    const sections: Record<string, Float32Array> = {};
    const header: RecordingHeader = {
      rounds: final.round,
      every: this.opts.every,
      participants: [],
      weights: [],
      localRounds: [],
      forgetSteps: this.opts.forgetSteps,
      size: 0,
    };
    for (let t = 0; t < final.round; t++) {
      const file = join(this.opts.dir, 'record', `r${t}.bin`);
      const bytes = new Uint8Array(await readFile(file));
      if (sha256(bytes) !== digests[`record/r${t}.bin`]) {
        throw new DataError(`the recording of round ${t} changed on disk since it was written`, {
          file,
          hint: "delete the stage's checkpoint folder (or run with --force) to train it again",
        });
      }
      const round = unpackContainer<{ participants: number[]; weights: number[] }>(bytes, 'recording-round');
      header.participants.push(round.header.participants);
      header.weights.push(round.header.weights);
      for (const [name, data] of Object.entries(round.sections)) {
        const [kind, k] = name.split('/');
        const section =
          kind === 'G'
            ? recordingSection.global(t)
            : kind === 'L'
              ? recordingSection.local(t, Number(k))
              : recordingSection.forgetSteps(t, Number(k));
        sections[section] = data as Float32Array;
      }
      if (this.keepsLocals(t)) header.localRounds.push(t);
    }
    sections[recordingSection.global(final.round)] = flattenWeights(final.weights);
    header.size = sections[recordingSection.global(final.round)].length;
    const out = packRecording(header, sections);
    this.seconds += (performance.now() - t0) / 1000;
    return out;
  }
}
