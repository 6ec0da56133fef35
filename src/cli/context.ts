import type { SchemaSet } from '../config/schemas.ts';
import type { StageRegistry } from '../engine/stage.ts';

/** What commands need from outside: where to print, and (for tests) which stage kinds exist. */
export interface CliContext {
  out: (line: string) => void;
  registry?: StageRegistry;
  schemas?: SchemaSet;
}
