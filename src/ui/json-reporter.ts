import type { Reporter, RunEvent } from '../engine/events.ts';

/** NDJSON: one RunEvent per line, ending with `run:end` (which carries the count of each status). */
export class JsonReporter implements Reporter {
  private readonly write: (line: string) => void;
  constructor(opts: { write?: (line: string) => void } = {}) {
    this.write = opts.write ?? ((line) => process.stdout.write(`${line}\n`));
  }
  onEvent(event: RunEvent): void {
    this.write(JSON.stringify(event));
  }
}
