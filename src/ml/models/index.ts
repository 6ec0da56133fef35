import type { TrainFederationParams } from '../../generated/stage-params.ts';
import { alexnet } from './alexnet.ts';
import { lenet } from './lenet.ts';
import type { ModelDef } from './model.ts';
import { resnet18 } from './resnet18.ts';

/** The networks fedau builds: the train-federation schema's models. */
export type ModelName = Exclude<TrainFederationParams['model'], 'auto'>;

/** The reference's model for each dataset (design §9). */
export const DEFAULT_MODEL: Record<string, ModelName> = { mnist: 'lenet', cifar10: 'alexnet', cifar100: 'resnet18' };

export function buildModel(name: ModelName, classes: number, inputShape: [number, number, number]): ModelDef {
  switch (name) {
    case 'lenet':
      return lenet(classes, inputShape);
    case 'alexnet':
      return alexnet(classes, inputShape);
    case 'resnet18':
      return resnet18(classes, inputShape);
  }
}
