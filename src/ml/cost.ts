import { availableParallelism } from 'node:os';
import type { TrainFederationParams } from '../generated/stage-params.ts';
import type { ModelName } from './models/index.ts';

/**
 * Training samples per second of one trainer thread on the wasm backend (batch 128, augmentation), measured on the
 * project's 2-core machines (x86-64, AVX-512) with fedau's kernels (`npm run bench:models`: LeNet 14 000-16 700,
 * AlexNet 32.7-34.9, ResNet18 11.8-12.1 at batch 112; LeNet lower here, for two threads sharing a machine); see
 * README "Speed". Used only for estimates.
 */
export const WASM_SAMPLES_PER_SECOND: Record<ModelName, number> = { lenet: 12_000, alexnet: 33, resnet18: 12 };

/**
 * The largest batch whose training step fits in a wasm heap (4 GB, wasm32), measured; models not listed fit at
 * any batch the reference uses.
 */
export const WASM_MAX_BATCH: Partial<Record<ModelName, number>> = { resnet18: 112 };

/** The reference training-set size for each model's dataset, when the dataset is not known yet. */
const DEFAULT_TRAIN_SIZE: Record<ModelName, number> = { lenet: 60_000, alexnet: 50_000, resnet18: 50_000 };

export function formatSeconds(s: number): string {
  if (s < 10) return `${s.toFixed(1)} s`;
  if (s < 90) return `${Math.round(s)} s`;
  if (s < 5400) return `${Math.round(s / 60)} min`;
  if (s < 48 * 3600) return `${(s / 3600).toFixed(1)} h`;
  return `${(s / 86400).toFixed(1)} days`;
}

/** "≈ 1.2 h per round on this machine's CPU (wasm, 2 trainer threads); 200 rounds ≈ 10 days: use a GPU". */
export function trainingCostNote(
  opts: Pick<TrainFederationParams, 'rounds' | 'localEpochs'> &
    Partial<Pick<TrainFederationParams, 'batchSize' | 'clientFraction'>> & {
      model: ModelName;
      trainSize?: number;
      threads?: number;
    },
): string {
  const workers = opts.threads && opts.threads > 0 ? opts.threads : availableParallelism();
  const fraction = opts.clientFraction ?? 1;
  const samples = (opts.trainSize ?? DEFAULT_TRAIN_SIZE[opts.model]) * opts.localEpochs * fraction;
  const perRound = samples / (WASM_SAMPLES_PER_SECOND[opts.model] * workers);
  const total = perRound * opts.rounds;
  const advice =
    total > 6 * 3600
      ? '; a GPU backend (README: GPUs) is the practical way to run it in full, `--set train.rounds=N` a short run'
      : '';
  const limit = WASM_MAX_BATCH[opts.model];
  const batchNote =
    limit !== undefined && (opts.batchSize ?? 0) > limit
      ? `; on the CPU (wasm) ${opts.model} trains at most batch ${limit}: add --set train.batchSize=${limit}`
      : '';
  return (
    `cost: ≈ ${formatSeconds(perRound)} per round of training on the CPU (wasm, ${workers} trainer threads` +
    `${fraction < 1 ? `, ${Math.round(fraction * 100)} % of the clients a round` : ''}), ` +
    `${opts.rounds} rounds ≈ ${formatSeconds(total)}${advice}${batchNote}`
  );
}
