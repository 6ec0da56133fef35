/**
 * A backend as people read it: its name, and for a GPU the adapter it runs on (`webgpu on AMD Radeon … (vulkan,
 * core)`), since results depend on both. Used by the run header, the run log, `fedau plan` and the report.
 */
export function backendWithAdapter(backend: string | number, adapter?: string | number): string {
  return adapter ? `${backend} on ${adapter}` : String(backend);
}
