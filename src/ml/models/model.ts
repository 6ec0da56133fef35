import type * as tfType from '@tensorflow/tfjs';
import type { ParamSpec } from './params.ts';

/**
 * A network as fedau trains it: a feature extractor producing the penultimate feature z, followed by the
 * shared classifier W1·z + b1 and, on unlearning clients, the auxiliary head W2·z + b2 of the same shape
 * (design §3). Parameters are plain tensors in spec order so that a training step is one
 * `variableGrads` call and FedAvg is arithmetic on Float32Arrays.
 */
export interface ModelDef {
  name: string;
  classes: number;
  /** [H, W, C] of the input. */
  inputShape: [number, number, number];
  /** Every shared parameter and buffer, feature extractor first; the classifier W1, b1 last. */
  specs: ParamSpec[];
  /** Indices into `specs` of W1 ([features, classes]) and b1 ([classes]). */
  classifier: { weight: number; bias: number };
  featureSize: number;
  /**
   * The features z for a batch. `training` selects BatchNorm batch statistics; when it is set and the model has
   * buffers, `updatedBuffers` returns their new running values (index → tensor).
   */
  features(
    tf: typeof tfType,
    params: tfType.Tensor[],
    x: tfType.Tensor4D,
    training: boolean,
    tap?: ActivationTap,
  ): { z: tfType.Tensor2D; updatedBuffers?: Map<number, tfType.Tensor> };
  /** Whether `features` reports its convolutions' activations to a tap (class-discriminative pruning needs it). */
  tapsConvolutions?: boolean;
}

/**
 * Told each convolution's activation after its ReLU (and pooling, where the network pools), [N, H, W, C], with the
 * index of the convolution's weight in `specs`: whose last axis (and bias, when the next spec is one) are its channels.
 */
export type ActivationTap = (weightIndex: number, activation: tfType.Tensor4D) => void;

/** Specs of the auxiliary head W2, b2: the classifier's shapes, PyTorch's default init. */
export function headSpecs(model: ModelDef): ParamSpec[] {
  const w = model.specs[model.classifier.weight];
  const b = model.specs[model.classifier.bias];
  return [
    { ...w, name: 'classifier_ul.weight' },
    { ...b, name: 'classifier_ul.bias' },
  ];
}
