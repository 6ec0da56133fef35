import { createRequire } from 'node:module';
import type * as tfType from '@tensorflow/tfjs';
import { FedauError } from '../../core/errors.ts';
import type { PipelineParams } from '../../generated/stage-params.ts';
import { kernelsFingerprint, kernelVariant } from '../kernels/wasm/fedau-module.ts';
import { backendWithAdapter } from './backend-name.ts';
import { type AdapterFacts, adapterLabel, type DeviceHealth, findAdapter, gpuProbe, noAdapterError } from './webgpu.ts';

/** The backends a pipeline may ask for by name (its schema's), `auto` aside. */
export type BackendName = Exclude<PipelineParams['backend'], 'auto'>;

export interface BackendChoice {
  /** What a stage's results depend on: recorded in keys and reports. */
  name: BackendName;
  /** For `tensorflow`: which package provides it. */
  package?: '@tensorflow/tfjs-node-gpu' | '@tensorflow/tfjs-node';
  /** For `webgpu`: the adapter, which results depend on too. */
  adapter?: AdapterFacts;
  /** Why this backend: asked for, or what `auto` found. */
  why?: string;
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

/**
 * Decides the backend for a request without initialising it: auto → tfjs-node-gpu → tfjs-node → WebGPU on a
 * hardware adapter → wasm. A software WebGPU adapter is used only when asked for (webgpu.ts).
 */
export async function chooseBackend(requested: string): Promise<BackendChoice> {
  const native = (): BackendChoice | undefined => {
    if (loads('@tensorflow/tfjs-node-gpu')) return { name: 'tensorflow', package: '@tensorflow/tfjs-node-gpu' };
    if (loads('@tensorflow/tfjs-node')) return { name: 'tensorflow', package: '@tensorflow/tfjs-node' };
    return undefined;
  };
  switch (requested) {
    case 'tensorflow': {
      const found = native();
      if (!found) {
        throw new FedauError(
          'FEDAU_BACKEND',
          'backend "tensorflow" was requested, but neither @tensorflow/tfjs-node-gpu nor @tensorflow/tfjs-node ' +
            'is installed and loadable',
          {
            expected: 'an installed tfjs-node package whose native library loads',
            got: 'none',
            hint: 'see the README section "GPUs"; or use --backend wasm',
          },
        );
      }
      return { ...found, why: 'asked for' };
    }
    case 'webgpu': {
      const found = await findAdapter();
      if (!found) throw await noAdapterError();
      return { name: 'webgpu', adapter: found.facts, why: 'asked for' };
    }
    case 'wasm':
      return { name: 'wasm', why: 'asked for' };
    case 'cpu':
      return { name: 'cpu', why: 'asked for' };
    case 'auto': {
      const found = native();
      if (found) return { ...found, why: `auto: ${found.package} is installed` };
      // auto never settles for a software adapter, even where one is allowed for an explicit request.
      const gpu = await findAdapter(false);
      if (gpu) return { name: 'webgpu', adapter: gpu.facts, why: 'auto: a hardware GPU adapter' };
      return {
        name: 'wasm',
        why: `auto: no tfjs-node is installed, and no hardware GPU (${gpuProbe.verdict ?? 'none found'})`,
      };
    }
    default:
      throw new FedauError('FEDAU_BACKEND', `unknown backend "${requested}"`, {
        expected: 'auto | tensorflow | webgpu | wasm | cpu',
        got: requested,
      });
  }
}

/** The backend as recorded in cache keys and reports. */
export function backendLabel(choice: BackendChoice): string {
  return choice.package === '@tensorflow/tfjs-node-gpu' ? 'tensorflow-gpu' : choice.name;
}

/** The installed tfjs version, read without loading tfjs. */
export function tfjsVersion(): string {
  return (require('@tensorflow/tfjs/package.json') as { version: string }).version;
}

/** The backend with its adapter, as the UI, run log and report show it. */
export function backendDescription(choice: BackendChoice): string {
  return backendWithAdapter(backendLabel(choice), choice.adapter && adapterLabel(choice.adapter));
}

/**
 * The facts that go into a tfjs stage's cache key: results differ slightly across backends and GPU adapters.
 * Only WebGPU adds the adapter, so keys of the other backends stay what they were.
 */
export function choiceFacts(choice: BackendChoice): Record<string, string> {
  const facts: Record<string, string> = { tfjs: tfjsVersion(), backend: backendLabel(choice) };
  if (choice.adapter) facts.adapter = adapterLabel(choice.adapter);
  if (choice.name === 'wasm') facts.kernels = kernelsFingerprint();
  return facts;
}

/** Which kernels compute on this backend, for a cluster's facts and the log: on wasm, fedau's build and its digest. */
export function kernelsFact(choice: BackendChoice): string {
  return choice.name === 'wasm' ? `${kernelVariant()} ${kernelsFingerprint()}` : 'none';
}

export async function backendFacts(requested: string): Promise<Record<string, string>> {
  return choiceFacts(await chooseBackend(requested));
}

/**
 * Makes `choice` the active backend of this thread (each worker calls it for itself). wasm runs one thread per
 * worker, with fedau's gradient kernels registered.
 */
export async function initBackend(choice: BackendChoice): Promise<typeof tfType> {
  // Stages running at the same time in one process share the thread's tfjs engine: a backend is set up once, and
  // a second stage waits for the first one's setup instead of racing it (two setBackend calls at once fail).
  const key = backendLabel(choice);
  let ready = initialised.get(key);
  if (!ready) {
    ready = setUp(choice);
    initialised.set(key, ready);
    ready.catch(() => initialised.delete(key));
  }
  const tf = await ready;
  // Another backend may have been made active since (tests compare backends in one process).
  if (tf.getBackend() !== choice.name) await tf.setBackend(choice.name);
  return tf;
}

const initialised = new Map<string, Promise<typeof tfType>>();
let deviceHealth: DeviceHealth | undefined;

/** Throws the GPU's recorded failure, if any (a lost device, an out-of-memory): called after each readback. */
export function checkDevice(): void {
  deviceHealth?.check();
}

async function setUp(choice: BackendChoice): Promise<typeof tfType> {
  // Loaded here, not at the top, so that commands that never train (validate, plan, stages) stay fast.
  const tf = (await import('./tf.ts')).default;
  if (choice.name === 'tensorflow') {
    require(choice.package!);
    await tf.setBackend('tensorflow');
  } else if (choice.name === 'webgpu') {
    const { setUpWebGpu } = await import('./webgpu-backend.ts');
    deviceHealth = await setUpWebGpu(tf, choice.adapter!);
  } else if (choice.name === 'wasm') {
    const wasm = await import('@tensorflow/tfjs-backend-wasm');
    const { registerWasmKernels } = await import('../kernels/wasm/index.ts');
    registerWasmKernels();
    void wasm;
    const ok = await withoutProcessHandlersAdded(() => tf.setBackend('wasm'));
    if (!ok)
      throw new FedauError('FEDAU_BACKEND', 'the wasm backend failed to initialise', { hint: 'try --backend cpu' });
  } else {
    await tf.setBackend('cpu');
    // The cpu backend advertises tfjs-node on first use; fedau says which backend runs instead.
    (tf.backend() as unknown as { firstUse: boolean }).firstUse = false;
  }
  await tf.ready();
  return tf;
}

const PROCESS_EVENTS = ['uncaughtException', 'unhandledRejection'] as const;

/**
 * The wasm module (Emscripten) adds process handlers that rethrow every uncaught error and unhandled rejection;
 * Node then exits with code 7 and none of fedau's words. Those handlers are removed again, so an unexpected error
 * takes Node's usual path (its stack, exit code 1).
 */
async function withoutProcessHandlersAdded<T>(load: () => Promise<T>): Promise<T> {
  const events: NodeJS.EventEmitter = process;
  const before = new Map(PROCESS_EVENTS.map((event) => [event, new Set(events.listeners(event))]));
  try {
    return await load();
  } finally {
    for (const event of PROCESS_EVENTS) {
      for (const listener of events.listeners(event)) {
        if (!before.get(event)!.has(listener)) events.off(event, listener as (...args: unknown[]) => void);
      }
    }
  }
}
