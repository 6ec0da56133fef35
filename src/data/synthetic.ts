import type { Dataset } from '../artifacts/dataset.ts';
import { Rng } from '../core/rng.ts';

export interface SyntheticParams {
  classes: number;
  train: number;
  test: number;
  height: number;
  width: number;
  channels: number;
  /** Standard deviation of the per-pixel noise, in uint8 units. */
  noise: number;
}

/**
 * Seeded, learnable images for tests and the smoke pipeline: each class is a random coarse pattern,
 * upsampled, shifted by up to one pixel per sample and overlaid with noise. A small CNN separates the
 * classes within a few hundred steps.
 */
export function syntheticDataset(p: SyntheticParams, seed: number): Dataset {
  const rng = new Rng(seed, 'synthetic-dataset');
  const cells = 4;
  const prototypes = Array.from({ length: p.classes }, () =>
    Float32Array.from({ length: cells * cells * p.channels }, () => (rng.next() < 0.5 ? 30 : 220)),
  );
  const make = (count: number, stream: string) => {
    const r = new Rng(seed, stream);
    const size = p.height * p.width * p.channels;
    const images = new Uint8Array(count * size);
    const labels = new Uint8Array(count);
    for (let n = 0; n < count; n++) {
      const label = n % p.classes;
      labels[n] = label;
      const proto = prototypes[label];
      const dy = r.int(3) - 1;
      const dx = r.int(3) - 1;
      for (let y = 0; y < p.height; y++) {
        for (let x = 0; x < p.width; x++) {
          const cy = Math.min(cells - 1, Math.max(0, Math.floor(((y + dy) * cells) / p.height)));
          const cx = Math.min(cells - 1, Math.max(0, Math.floor(((x + dx) * cells) / p.width)));
          for (let c = 0; c < p.channels; c++) {
            const v = proto[(cy * cells + cx) * p.channels + c] + p.noise * r.normal();
            images[n * size + (y * p.width + x) * p.channels + c] = Math.max(0, Math.min(255, Math.round(v)));
          }
        }
      }
    }
    // Shuffle so that classes are interleaved irregularly, as in real data.
    const order = r.shuffle(Array.from({ length: count }, (_, i) => i));
    const shuffledImages = new Uint8Array(images.length);
    const shuffledLabels = new Uint8Array(count);
    order.forEach((from, to) => {
      shuffledImages.set(images.subarray(from * size, (from + 1) * size), to * size);
      shuffledLabels[to] = labels[from];
    });
    return { images: shuffledImages, labels: shuffledLabels };
  };
  const train = make(p.train, 'synthetic-train');
  const test = make(p.test, 'synthetic-test');
  return {
    header: {
      name: 'synthetic',
      source: 'synthetic',
      height: p.height,
      width: p.width,
      channels: p.channels,
      classes: p.classes,
      trainCount: p.train,
      testCount: p.test,
    },
    trainImages: train.images,
    trainLabels: train.labels,
    testImages: test.images,
    testLabels: test.labels,
  };
}
