import { createRequire } from 'node:module';
import * as tf from '@tensorflow/tfjs-core';
import { FedauError } from '../engine/errors.ts';

export type BackendName = 'tensorflow' | 'wasm' | 'cpu';

export interface BackendChoice {
  /** What a stage's results depend on: recorded in keys and reports. */
  name: BackendName;
  /** For `tensorflow`: which package provides it. */
  package?: '@tensorflow/tfjs-node-gpu' | '@tensorflow/tfjs-node';
}

const require = createRequire(import.meta.url);

/** Whether a package is installed and its native binding loads (tfjs-node without libtensorflow does not). */
function loads(pkg: string): boolean {
  try {
    require.resolve(pkg);
  } catch {
    return false;
  }
  try {
    require(pkg);
    return true;
  } catch {
    return false;
  }
}

/** Decides the backend for a request without initialising it: auto → tfjs-node-gpu → tfjs-node → wasm → cpu. */
export function chooseBackend(requested: string): BackendChoice {
  const native = (): BackendChoice | undefined => {
    if (loads('@tensorflow/tfjs-node-gpu')) return { name: 'tensorflow', package: '@tensorflow/tfjs-node-gpu' };
    if (loads('@tensorflow/tfjs-node')) return { name: 'tensorflow', package: '@tensorflow/tfjs-node' };
    return undefined;
  };
  switch (requested) {
    case 'tensorflow': {
      const found = native();
      if (!found) {
        throw new FedauError('FEDAU_BACKEND', 'backend "tensorflow" was requested, but neither @tensorflow/tfjs-node-gpu nor @tensorflow/tfjs-node is installed and loadable', {
          expected: 'an installed tfjs-node package whose native library loads',
          got: 'none',
          hint: 'see the README section "Native TensorFlow backend"; or use --backend wasm',
        });
      }
      return found;
    }
    case 'wasm':
      return { name: 'wasm' };
    case 'cpu':
      return { name: 'cpu' };
    case 'auto':
      return native() ?? { name: 'wasm' };
    default:
      throw new FedauError('FEDAU_BACKEND', `unknown backend "${requested}"`, { expected: 'auto | tensorflow | wasm | cpu', got: requested });
  }
}

/** The facts that go into a tfjs stage's cache key. */
export function backendFacts(requested: string): Record<string, string> {
  const choice = chooseBackend(requested);
  return { tfjs: tf.version_core, backend: choice.package === '@tensorflow/tfjs-node-gpu' ? 'tensorflow-gpu' : choice.name };
}
