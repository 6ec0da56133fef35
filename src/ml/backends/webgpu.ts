// WebGPU through Dawn (the optional `webgpu` package): finding an adapter, setting up what the software path
// needs, and turning GPU failures (no adapter, a lost device, out of memory) into errors a user can act on.
import { existsSync, mkdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { FedauError } from '../../core/errors.ts';
import { probeHardwareAdapter, refusalReason } from './webgpu-probe.ts';

/** What a WebGPU stage's results depend on and what the UI, run log and report show. */
export interface AdapterFacts {
  vendor: string;
  device: string;
  description: string;
  /** Dawn's backend: vulkan, metal, d3d12, opengles… */
  api: string;
  /** WebGPU feature level: `core`, or `compatibility` (what OpenGL ES can offer). */
  mode: 'core' | 'compatibility';
  /** A CPU rasteriser (Mesa's llvmpipe or lavapipe, SwiftShader): for tests, never picked by itself. */
  software: boolean;
}

/** The environment variable that allows a software adapter (tests and CI run WebGPU this way). */
export const SOFTWARE_ENV = 'FEDAU_WEBGPU_SOFTWARE';

export function softwareAllowed(): boolean {
  const v = process.env[SOFTWARE_ENV];
  return v === '1' || v === 'true';
}

export function adapterLabel(a: AdapterFacts): string {
  const name = [a.vendor, a.device || a.description].filter(Boolean).join(' ');
  return `${name} (${a.api}, ${a.mode}${a.software ? ', software' : ''})`;
}

interface DawnModule {
  create(options: string[]): GpuLike;
  globals: Record<string, unknown>;
}
interface GpuLike {
  requestAdapter(o?: Record<string, unknown>): Promise<AdapterLike | null>;
}
export interface AdapterLike {
  info: { vendor: string; architecture: string; device: string; description: string; isFallbackAdapter?: boolean };
  features: Set<string>;
  limits: Record<string, number>;
  requestDevice(d?: Record<string, unknown>): Promise<DeviceLike>;
}
export interface DeviceLike {
  lost: Promise<{ reason: string; message: string }>;
  addEventListener(
    type: 'uncapturederror',
    f: (e: { error: { message: string; constructor: { name: string } } }) => void,
  ): void;
  destroy(): void;
}

async function loadDawn(): Promise<DawnModule | undefined> {
  try {
    return (await import('webgpu')) as unknown as DawnModule;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ERR_MODULE_NOT_FOUND') return undefined;
    throw new FedauError(
      'FEDAU_BACKEND',
      `the webgpu package is installed but Dawn failed to load: ${(error as Error).message}`,
      {
        hint: 'reinstall it (npm install webgpu), or use --backend wasm',
      },
    );
  }
}

const SOFTWARE_NAMES = /llvmpipe|lavapipe|softpipe|swiftshader|software/i;

/** Dawn on Linux reaches real GPUs through Vulkan; without the Vulkan loader there is no hardware adapter. */
function vulkanLoaderPresent(): boolean {
  if (process.platform !== 'linux') return true;
  const dirs = [
    ...(process.env.LD_LIBRARY_PATH ?? '').split(delimiter).filter(Boolean),
    `/usr/lib/${process.arch === 'arm64' ? 'aarch64' : 'x86_64'}-linux-gnu`,
    '/usr/lib64',
    '/usr/lib',
    '/usr/local/lib',
  ];
  return dirs.some((d) => existsSync(join(d, 'libvulkan.so.1')));
}

/**
 * Mesa's EGL needs these to run without a display: a surfaceless platform and a private runtime folder. They are
 * set before Dawn starts (native code reads the process environment, which worker threads inherit).
 */
function prepareSoftwareEnvironment(): void {
  process.env.EGL_PLATFORM ??= 'surfaceless';
  const current = process.env.XDG_RUNTIME_DIR;
  if (current && isPrivateDir(current)) return;
  const dir = join(tmpdir(), `fedau-xdg-${process.getuid?.() ?? 'user'}`);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  process.env.XDG_RUNTIME_DIR = dir;
}

function isPrivateDir(path: string): boolean {
  try {
    const s = statSync(path);
    return s.isDirectory() && (s.mode & 0o077) === 0;
  } catch {
    return false;
  }
}

export interface FoundAdapter {
  facts: AdapterFacts;
  adapter: AdapterLike;
  /** Dawn's instance: the adapter lives only as long as it is referenced. */
  gpu: GpuLike;
  globals: Record<string, unknown>;
}

function describe(adapter: AdapterLike, api: string, mode: AdapterFacts['mode']): AdapterFacts {
  const { vendor, device, description, isFallbackAdapter } = adapter.info;
  return {
    vendor: vendor.trim(),
    device: device.replace(/-+$/, '').trim(),
    description: description.trim(),
    api,
    mode,
    software: Boolean(isFallbackAdapter) || SOFTWARE_NAMES.test(`${device} ${description}`),
  };
}

function defaultApi(): string {
  return process.platform === 'darwin' ? 'metal' : process.platform === 'win32' ? 'd3d12' : 'vulkan';
}

/**
 * Finds the adapter fedau would use: a hardware one first; Mesa's software rasteriser through OpenGL ES in
 * compatibility mode only when allowed. Returns undefined when there is none (or `webgpu` is not installed).
 */
export function findAdapter(allowSoftware = softwareAllowed()): Promise<FoundAdapter | undefined> {
  // Once per thread and permission: Dawn logs its limits at each discovery, and the adapter is the same.
  let found = discovered.get(allowSoftware);
  if (!found) {
    found = discover(allowSoftware);
    discovered.set(allowSoftware, found);
  }
  return found;
}

const discovered = new Map<boolean, Promise<FoundAdapter | undefined>>();

/** Why the last discovery found no hardware adapter (in a few words), and what Dawn printed while looking. */
export const gpuProbe: { verdict?: string; details: string[] } = { details: [] };

async function discover(allowSoftware: boolean): Promise<FoundAdapter | undefined> {
  // `auto` asks on every run: without a way to a GPU, do not load Dawn's native module at all.
  const hardwarePossible = vulkanLoaderPresent();
  if (!hardwarePossible) gpuProbe.verdict = 'no Vulkan loader (libvulkan.so.1) is installed';
  if (!hardwarePossible && !(allowSoftware && process.platform === 'linux')) return undefined;
  // Asked quietly first, in a child process: Dawn is loaded here only for a hardware adapter it will offer.
  const probe = hardwarePossible ? await probeHardwareAdapter() : undefined;
  const offered = probe?.adapter && !SOFTWARE_NAMES.test(`${probe.adapter.device} ${probe.adapter.description}`);
  if (probe) {
    gpuProbe.details = probe.details;
    if (!offered) gpuProbe.verdict = refusalReason(probe);
  }
  if (!offered && !(allowSoftware && process.platform === 'linux')) return undefined;
  const dawn = await loadDawn();
  if (!dawn) return undefined;
  if (offered) {
    const gpu = dawn.create([]);
    const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
    if (adapter) {
      const facts = describe(adapter, defaultApi(), 'core');
      if (!facts.software) return { facts, adapter, gpu, globals: dawn.globals };
    }
  }
  if (!allowSoftware || process.platform !== 'linux') return undefined;
  prepareSoftwareEnvironment();
  const gpu = dawn.create(['backend=opengles']);
  const adapter = await gpu.requestAdapter({ featureLevel: 'compatibility' });
  return adapter
    ? { facts: describe(adapter, 'opengles', 'compatibility'), adapter, gpu, globals: dawn.globals }
    : undefined;
}

export async function webgpuInstalled(): Promise<boolean> {
  return (await loadDawn()) !== undefined;
}

/** The error for `--backend webgpu` when no usable adapter exists, saying why and what to do. */
export async function noAdapterError(): Promise<FedauError> {
  if (!(await webgpuInstalled())) {
    return new FedauError(
      'FEDAU_BACKEND',
      'backend "webgpu" was requested, but the optional package webgpu is not installed',
      {
        expected: 'the npm package webgpu (Dawn for Node)',
        got: 'not installed',
        hint: "npm install webgpu (in fedau's folder), or use --backend wasm",
      },
    );
  }
  return new FedauError('FEDAU_BACKEND', 'backend "webgpu" was requested, but Dawn found no hardware GPU adapter', {
    expected:
      `a GPU reachable through ${defaultApi()}` +
      (process.platform === 'linux' ? ' (the Vulkan loader libvulkan.so.1 and a GPU driver)' : ''),
    got: softwareAllowed()
      ? "no adapter, not even a software one (are Mesa's EGL and GLES libraries installed?)"
      : 'none',
    hint: `use --backend wasm; to test the WebGPU path on a CPU, set ${SOFTWARE_ENV}=1 (or pass --webgpu-software)`,
  });
}

/** What went wrong on the device, recorded as it happens (errors arrive asynchronously), raised at the next check. */
export interface DeviceHealth {
  check(): void;
}

/**
 * Watches a device for loss and for errors that tfjs does not capture (an allocation that fails leaves tfjs
 * computing on nothing, silently): the next `check()` turns them into a FedauError with a hint.
 */
export function watchDevice(device: DeviceLike, label: string): DeviceHealth {
  let failure: FedauError | undefined;
  void device.lost.then((info) => {
    if (info.reason === 'destroyed' && failure) return;
    failure ??= new FedauError(
      'FEDAU_GPU',
      `the GPU device was lost (${info.reason}): ${info.message || 'no detail'}`,
      {
        got: label,
        hint:
          'a driver reset or a GPU taken by another process; rerun (finished rounds are reused), ' +
          'or use --backend wasm',
      },
    );
  });
  device.addEventListener('uncapturederror', (event) => {
    const kind = event.error.constructor.name;
    const oom =
      kind === 'GPUOutOfMemoryError' ||
      /out of memory|exceeds|too large|maxBufferSize|maxStorageBuffer/i.test(event.error.message);
    failure ??= new FedauError(
      'FEDAU_GPU',
      oom
        ? `the GPU ran out of memory (or a buffer exceeded its limits): ${firstLine(event.error.message)}`
        : `the GPU reported an error: ${firstLine(event.error.message)}`,
      {
        got: label,
        hint: oom
          ? 'use a smaller batch (--set train.batchSize=…), or --backend wasm'
          : 'rerun with --backend wasm; please report this error',
      },
    );
  });
  return {
    check() {
      if (failure) throw failure;
    },
  };
}

function firstLine(s: string): string {
  return (
    s
      .split('\n')
      .find((l) => l.trim())
      ?.trim() ?? s
  );
}
