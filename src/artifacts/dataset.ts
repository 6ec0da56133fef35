import { packContainer, unpackContainer } from './container.ts';

/** What a dataset artifact says about itself. Images are uint8, HWC, row-major. */
export interface DatasetHeader {
  /** `mnist`, `cifar10`, `cifar100`, `synthetic`, ... (decides normalisation and augmentation). */
  name: string;
  source: string;
  height: number;
  width: number;
  channels: number;
  classes: number;
  trainCount: number;
  testCount: number;
  classNames?: string[];
}

export interface Dataset {
  header: DatasetHeader;
  trainImages: Uint8Array;
  trainLabels: Uint8Array;
  testImages: Uint8Array;
  testLabels: Uint8Array;
}

export const DATASET_KIND = 'dataset';

export function packDataset(ds: Dataset): Uint8Array {
  checkDataset(ds);
  return packContainer(DATASET_KIND, ds.header, {
    trainImages: ds.trainImages,
    trainLabels: ds.trainLabels,
    testImages: ds.testImages,
    testLabels: ds.testLabels,
  });
}

export function unpackDataset(bytes: Uint8Array): Dataset {
  const { header, sections } = unpackContainer<DatasetHeader>(bytes, DATASET_KIND);
  const ds = {
    header,
    trainImages: sections.trainImages as Uint8Array,
    trainLabels: sections.trainLabels as Uint8Array,
    testImages: sections.testImages as Uint8Array,
    testLabels: sections.testLabels as Uint8Array,
  };
  checkDataset(ds);
  return ds;
}

export function imageSize(h: Pick<DatasetHeader, 'height' | 'width' | 'channels'>): number {
  return h.height * h.width * h.channels;
}

function checkDataset(ds: Dataset): void {
  const { header: h } = ds;
  const size = imageSize(h);
  const problems: string[] = [];
  if (ds.trainImages.length !== h.trainCount * size)
    problems.push(`train images hold ${ds.trainImages.length} bytes, expected ${h.trainCount * size}`);
  if (ds.testImages.length !== h.testCount * size)
    problems.push(`test images hold ${ds.testImages.length} bytes, expected ${h.testCount * size}`);
  if (ds.trainLabels.length !== h.trainCount)
    problems.push(`${ds.trainLabels.length} train labels for ${h.trainCount} images`);
  if (ds.testLabels.length !== h.testCount)
    problems.push(`${ds.testLabels.length} test labels for ${h.testCount} images`);
  for (const [name, labels] of [
    ['train', ds.trainLabels],
    ['test', ds.testLabels],
  ] as const) {
    const bad = labels.findIndex((l) => l >= h.classes);
    if (bad >= 0)
      problems.push(`${name} label ${labels[bad]} at index ${bad} is not below the class count ${h.classes}`);
  }
  if (problems.length) throw new Error(`inconsistent dataset "${h.name}": ${problems.join('; ')}`);
}
