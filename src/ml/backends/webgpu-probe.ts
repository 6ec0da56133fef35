// Asking Dawn whether a hardware GPU is there, without letting it talk over the user's terminal: the question runs
// in a child process whose output is kept (for --verbose), and its answer is remembered per machine state.
import { execFile } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { sha256 } from '../../core/hash.ts';

/** What Dawn said of the machine's GPUs: the adapter it offers (if any) and everything it printed on the way. */
export interface ProbeResult {
  adapter?: { vendor: string; architecture: string; device: string; description: string; isFallbackAdapter?: boolean };
  details: string[];
}

const PROBE = `
const [url] = process.argv.slice(1);
const dawn = await import(url);
const gpu = dawn.create([]);
const a = await gpu.requestAdapter({ powerPreference: 'high-performance' });
const info = a && a.info;
process.stdout.write(JSON.stringify(info ? { vendor: info.vendor, architecture: info.architecture,
  device: info.device, description: info.description, isFallbackAdapter: info.isFallbackAdapter } : null));
process.exit(0);
`;

/** What the answer depends on: the installed Vulkan drivers and loader, the webgpu package, Node. */
function machineState(webgpuPath: string): string {
  const files: string[] = [];
  for (const dir of ['/usr/share/vulkan/icd.d', '/etc/vulkan/icd.d']) {
    try {
      for (const f of readdirSync(dir).sort()) files.push(`${dir}/${f}:${statSync(join(dir, f)).mtimeMs}`);
    } catch {
      // no such folder
    }
  }
  return sha256(
    JSON.stringify({
      files,
      webgpu: statSync(webgpuPath).mtimeMs,
      node: process.version,
      env: process.env.VK_ICD_FILENAMES ?? '',
    }),
  );
}

/**
 * Whether Dawn offers a hardware adapter here, asked in a child process: Dawn and Mesa print warnings straight to the
 * process's stderr (a refused Vulkan driver, a missing runtime folder), which would land above the live view. The
 * answer is remembered in the temp folder until the drivers change.
 */
export async function probeHardwareAdapter(): Promise<ProbeResult> {
  const require = createRequire(import.meta.url);
  let webgpuPath: string;
  try {
    webgpuPath = require.resolve('webgpu');
  } catch {
    return { details: ['the webgpu package is not installed'] };
  }
  const cache = join(
    tmpdir(),
    `fedau-gpu-probe-${process.getuid?.() ?? 'user'}-${machineState(webgpuPath).slice(0, 16)}.json`,
  );
  try {
    return JSON.parse(readFileSync(cache, 'utf8')) as ProbeResult;
  } catch {
    // not asked yet on this machine state
  }
  const xdg = join(tmpdir(), `fedau-xdg-${process.getuid?.() ?? 'user'}`);
  mkdirSync(xdg, { recursive: true, mode: 0o700 });
  const result = await new Promise<ProbeResult>((resolve) => {
    execFile(
      process.execPath,
      ['--input-type=module', '-e', PROBE, pathToFileURL(webgpuPath).href],
      { env: { ...process.env, XDG_RUNTIME_DIR: xdg }, timeout: 30_000 },
      (error, stdout, stderr) => {
        const details = `${stderr}`.split('\n').filter((l) => l.trim());
        if (error) return resolve({ details: [...details, `the probe failed: ${error.message.split('\n')[0]}`] });
        try {
          const adapter = JSON.parse(stdout) as ProbeResult['adapter'] | null;
          resolve(adapter ? { adapter, details } : { details });
        } catch {
          resolve({ details: [...details, `the probe said: ${stdout.slice(0, 200)}`] });
        }
      },
    );
  });
  try {
    writeFileSync(cache, JSON.stringify(result));
  } catch {
    // a cache only
  }
  return result;
}

/** Why Dawn offers no hardware adapter, in a few words, from what it printed. */
export function refusalReason(probe: ProbeResult): string {
  const text = probe.details.join('\n');
  const device = probe.adapter ? `${probe.adapter.vendor} ${probe.adapter.device}`.trim() : '';
  if (probe.adapter) return `the only adapter is a software one (${device || probe.adapter.description})`;
  if (/shaderUniform\*ArrayDynamicIndexing/.test(text)) {
    return "Dawn refused the only Vulkan driver, Mesa's software lavapipe";
  }
  if (/not installed/.test(text)) return 'the webgpu package is not installed';
  return 'Dawn found no GPU adapter';
}
