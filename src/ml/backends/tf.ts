// The one entry point to tfjs for fedau. The @tensorflow/tfjs bundle registers the gradient of every op
// (tfjs-core's Node build ships the ops without them); backends are chosen by backend.ts.
import * as tf from '@tensorflow/tfjs';

export * from '@tensorflow/tfjs';
export default tf;
