import type { Rng } from '../../core/rng.ts';

/** Normalisation and training augmentation of a dataset, as the reference's torchvision transforms (design §2.1). */
export interface Preprocess {
  mean: number[];
  std: number[];
  augment: 'mnist' | 'cifar' | 'none';
  /** CIFAR-10 only: ColorJitter(brightness 0.25, contrast 0.8). */
  colorJitter: boolean;
}

export function preprocessFor(datasetName: string, channels: number): Preprocess {
  switch (datasetName) {
    case 'mnist':
      return { mean: [0.13066], std: [0.30811], augment: 'mnist', colorJitter: false };
    case 'cifar10':
      // The reference normalises CIFAR-10 with CIFAR-100's statistics.
      return { mean: [0.507, 0.487, 0.441], std: [0.267, 0.256, 0.276], augment: 'cifar', colorJitter: true };
    case 'cifar100':
      return { mean: [0.507, 0.487, 0.441], std: [0.267, 0.256, 0.276], augment: 'cifar', colorJitter: false };
    default:
      return { mean: Array(channels).fill(0.5), std: Array(channels).fill(0.25), augment: 'none', colorJitter: false };
  }
}

const ROTATION_STEPS = 100; // ±5° in steps of 0.1°

/** One MNIST image's augmentation: a rotation (index into the precomputed maps) and a crop offset. */
export interface MnistAugmentation {
  rotation: number;
  dy: number;
  dx: number;
}

/** One CIFAR image's augmentation: crop offset, horizontal flip, and (CIFAR-10) colour jitter. */
export interface CifarAugmentation {
  dy: number;
  dx: number;
  flip: boolean;
  jitter?: { brightness: number; contrast: number; brightnessFirst: boolean };
}

export type Augmentation = MnistAugmentation | CifarAugmentation;

/**
 * Turns uint8 HWC images into normalised float32 NHWC batches, with or without augmentation. All work is on
 * typed arrays; the MNIST rotation uses precomputed nearest-neighbour maps (one per 0.1°), so augmenting a
 * pixel costs a few integer operations.
 */
export class BatchMaker {
  readonly height: number;
  readonly width: number;
  readonly channels: number;
  private readonly images: Uint8Array;
  private readonly pre: Preprocess;
  /** lut[c * 256 + v] = normalised value of raw v in channel c. */
  private readonly lut: Float32Array;
  private rotationMaps?: Int32Array[];
  /** Rotation and crop in one map, built when a combination is first drawn (51 rotations × 25 offsets at most). */
  private readonly mnistMaps = new Map<number, Int32Array>();
  private scratch: Float32Array;

  constructor(images: Uint8Array, shape: { height: number; width: number; channels: number }, pre: Preprocess) {
    this.images = images;
    this.height = shape.height;
    this.width = shape.width;
    this.channels = shape.channels;
    this.pre = pre;
    this.lut = new Float32Array(256 * shape.channels);
    for (let c = 0; c < shape.channels; c++)
      for (let v = 0; v < 256; v++) this.lut[c * 256 + v] = (v / 255 - pre.mean[c]) / pre.std[c];
    this.scratch = new Float32Array(this.height * this.width * this.channels);
  }

  get imageSize(): number {
    return this.height * this.width * this.channels;
  }

  /** Writes the images `indices` into `out` (length ≥ indices.length · imageSize). `rng` given = augment. */
  fill(out: Float32Array, indices: ArrayLike<number>, rng?: Rng): void {
    const size = this.imageSize;
    for (let b = 0; b < indices.length; b++) this.write(out, b * size, indices[b], rng ? this.draw(rng) : undefined);
  }

  /**
   * Draws one image's random augmentation. Each image's draws are taken from `rng` in the order the images are
   * seen, so a caller that skips an image (a retrain skipping the forget set) still draws for it, and every other
   * image keeps the augmentation it had.
   */
  draw(rng: Rng): Augmentation | undefined {
    if (this.pre.augment === 'none') return undefined;
    if (this.pre.augment === 'mnist') {
      this.rotationMaps ??= this.buildRotationMaps(5);
      const rotation = rng.int(this.rotationMaps.length);
      return { rotation, dy: rng.int(5) - 2, dx: rng.int(5) - 2 };
    }
    const dy = rng.int(9) - 4;
    const dx = rng.int(9) - 4;
    const flip = rng.next() < 0.5;
    if (!this.pre.colorJitter) return { dy, dx, flip };
    const brightness = rng.uniform(0.75, 1.25);
    const contrast = rng.uniform(0.2, 1.8);
    // torchvision applies the jitter transforms in a random order.
    return { dy, dx, flip, jitter: { brightness, contrast, brightnessFirst: rng.next() < 0.5 } };
  }

  /** Writes image `index` into `out` at `dst`, augmented as drawn (or plain). */
  write(out: Float32Array, dst: number, index: number, aug: Augmentation | undefined): void {
    const src = index * this.imageSize;
    if (!aug) this.plain(out, dst, src);
    else if ('rotation' in aug) this.mnist(out, dst, src, aug);
    else this.cifar(out, dst, src, aug);
  }

  private plain(out: Float32Array, dst: number, src: number): void {
    const { images, lut, channels } = this;
    const size = this.imageSize;
    for (let i = 0; i < size; i++) out[dst + i] = lut[(i % channels) * 256 + images[src + i]];
  }

  /** RandomRotation(±5°, nearest, fill 0) then RandomCrop(28, padding 2): output (y,x) reads rotated(y+dy, x+dx). */
  private mnist(out: Float32Array, dst: number, src: number, aug: MnistAugmentation): void {
    const map = this.mnistMap(aug);
    const { images, lut } = this;
    const zero = lut[0];
    for (let i = 0; i < map.length; i++) {
      const m = map[i];
      out[dst + i] = m >= 0 ? lut[images[src + m]] : zero;
    }
  }

  /** For each output pixel, the source pixel after the rotation and the crop of `aug`, or -1 (the fill). */
  private mnistMap(aug: MnistAugmentation): Int32Array {
    const key = (aug.rotation * 5 + aug.dy + 2) * 5 + aug.dx + 2;
    let map = this.mnistMaps.get(key);
    if (map) return map;
    const rotated = this.rotationMaps![aug.rotation];
    const { width: W, height: H } = this;
    map = new Int32Array(W * H).fill(-1);
    for (let y = 0; y < H; y++) {
      const yy = y + aug.dy;
      for (let x = 0; x < W; x++) {
        const xx = x + aug.dx;
        if (yy >= 0 && yy < H && xx >= 0 && xx < W) map[y * W + x] = rotated[yy * W + xx];
      }
    }
    this.mnistMaps.set(key, map);
    return map;
  }

  /** For each output pixel of an image rotated by θ about its centre, the source pixel (nearest), or -1. */
  private buildRotationMaps(maxDegrees: number): Int32Array[] {
    const { width: W, height: H } = this;
    const cy = (H - 1) / 2;
    const cx = (W - 1) / 2;
    const maps: Int32Array[] = [];
    for (let s = 0; s <= ROTATION_STEPS; s++) {
      const theta = ((-maxDegrees + (2 * maxDegrees * s) / ROTATION_STEPS) * Math.PI) / 180;
      const cos = Math.cos(theta);
      const sin = Math.sin(theta);
      const map = new Int32Array(W * H);
      for (let y = 0; y < H; y++) {
        for (let x = 0; x < W; x++) {
          // Inverse rotation: where in the source does this output pixel come from.
          const sx = Math.round(cos * (x - cx) + sin * (y - cy) + cx);
          const sy = Math.round(-sin * (x - cx) + cos * (y - cy) + cy);
          map[y * W + x] = sx >= 0 && sx < W && sy >= 0 && sy < H ? sy * W + sx : -1;
        }
      }
      maps.push(map);
    }
    return maps;
  }

  /** RandomCrop(32, padding 4) → RandomHorizontalFlip → (CIFAR-10) ColorJitter(0.25, 0.8) → Normalize. */
  private cifar(out: Float32Array, dst: number, src: number, aug: CifarAugmentation): void {
    const { width: W, height: H, channels: C, images, pre } = this;
    const { dy, dx, flip } = aug;
    const img = this.scratch; // values in [0, 1]
    for (let y = 0; y < H; y++) {
      const yy = y + dy;
      for (let x = 0; x < W; x++) {
        const xs = flip ? W - 1 - x : x;
        const xx = xs + dx;
        const inside = yy >= 0 && yy < H && xx >= 0 && xx < W;
        for (let c = 0; c < C; c++) img[(y * W + x) * C + c] = inside ? images[src + (yy * W + xx) * C + c] / 255 : 0;
      }
    }
    if (aug.jitter) {
      const { brightness, contrast } = aug.jitter;
      if (aug.jitter.brightnessFirst) {
        scaleClamp(img, brightness, 0);
        blendWithGrayMean(img, contrast, C);
      } else {
        blendWithGrayMean(img, contrast, C);
        scaleClamp(img, brightness, 0);
      }
    }
    const n = W * H;
    for (let p = 0; p < n; p++) {
      for (let c = 0; c < C; c++) out[dst + p * C + c] = (img[p * C + c] - pre.mean[c]) / pre.std[c];
    }
  }
}

/** img = clamp(img · f + (1 - f) · m) */
function scaleClamp(img: Float32Array, f: number, m: number): void {
  for (let i = 0; i < img.length; i++) img[i] = Math.min(1, Math.max(0, img[i] * f + (1 - f) * m));
}

/** Contrast: blend every pixel with the mean of the image's grayscale version. */
function blendWithGrayMean(img: Float32Array, f: number, C: number): void {
  let sum = 0;
  const n = img.length / C;
  for (let p = 0; p < n; p++)
    sum += C === 3 ? 0.299 * img[p * 3] + 0.587 * img[p * 3 + 1] + 0.114 * img[p * 3 + 2] : img[p * C];
  scaleClamp(img, f, sum / n);
}

/** Stamps the backdoor square (all channels) into uint8 HWC images, in place. */
export function stampTrigger(
  images: Uint8Array,
  index: number,
  shape: { height: number; width: number; channels: number },
  t: { size: number; x: number; y: number; value: number },
): void {
  const { width: W, channels: C } = shape;
  const base = index * shape.height * W * C;
  for (let y = t.y; y < t.y + t.size; y++)
    for (let x = t.x; x < t.x + t.size; x++) for (let c = 0; c < C; c++) images[base + (y * W + x) * C + c] = t.value;
}
