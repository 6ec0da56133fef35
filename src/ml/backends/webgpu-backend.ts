// Makes tfjs's WebGPU backend run on the adapter fedau chose, in this thread (each training worker has its own).
import type * as tfType from '@tensorflow/tfjs';
import { FedauError } from '../../core/errors.ts';
import { registerWebGpuKernels } from '../kernels/webgpu.ts';
import { type AdapterFacts, adapterLabel, type DeviceHealth, findAdapter, watchDevice } from './webgpu.ts';

/**
 * tfjs's own registration asks `navigator.gpu` for a core-mode adapter, which a compatibility-mode (OpenGL ES)
 * adapter is not; fedau creates the device itself, with the adapter's full limits (tfjs sizes its dispatches and
 * buffers from them), and hands it to tfjs's WebGPUBackend.
 */
export async function setUpWebGpu(tf: typeof tfType, wanted: AdapterFacts): Promise<DeviceHealth> {
  const found = await findAdapter(wanted.software);
  if (!found || adapterLabel(found.facts) !== adapterLabel(wanted)) {
    throw new FedauError('FEDAU_BACKEND', 'the WebGPU adapter chosen for this run is not available in this thread', {
      expected: adapterLabel(wanted),
      got: found ? adapterLabel(found.facts) : 'no adapter',
      hint: 'use --workers 1, or --backend wasm',
    });
  }
  const { adapter, gpu, globals } = found;
  // tfjs's WebGPU code uses the browser's globals (GPUBufferUsage, GPUMapMode…) and `navigator.gpu`.
  Object.assign(globalThis, globals);
  const g = globalThis as { navigator?: object };
  g.navigator ??= {};
  const nav = g.navigator;
  Object.defineProperty(nav, 'gpu', { value: gpu, configurable: true, writable: true });
  const limits = adapter.limits;
  const device = await adapter.requestDevice({
    requiredFeatures: adapter.features.has('timestamp-query') ? ['timestamp-query'] : [],
    requiredLimits: {
      maxComputeWorkgroupStorageSize: limits.maxComputeWorkgroupStorageSize,
      maxComputeWorkgroupsPerDimension: limits.maxComputeWorkgroupsPerDimension,
      maxStorageBufferBindingSize: limits.maxStorageBufferBindingSize,
      maxBufferSize: limits.maxBufferSize,
      maxComputeWorkgroupSizeX: limits.maxComputeWorkgroupSizeX,
      maxComputeInvocationsPerWorkgroup: limits.maxComputeInvocationsPerWorkgroup,
    },
  });
  const health = watchDevice(device, adapterLabel(wanted));
  const { WebGPUBackend } = await import('@tensorflow/tfjs-backend-webgpu');
  // Importing the package may have registered tfjs's own factory (navigator.gpu was already set): replace it.
  if (tf.findBackendFactory('webgpu')) tf.removeBackend('webgpu');
  tf.registerBackend('webgpu', () => new WebGPUBackend(device as never, adapter.info as never));
  registerWebGpuKernels(tf);
  if (!(await tf.setBackend('webgpu'))) {
    throw new FedauError('FEDAU_BACKEND', 'tfjs failed to start its WebGPU backend on the chosen adapter', {
      got: adapterLabel(wanted),
      hint: 'use --backend wasm',
    });
  }
  return health;
}
