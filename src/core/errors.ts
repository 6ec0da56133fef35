/**
 * Errors carry a stable code, where the problem is, and what to do next.
 * A user's mistake (ConfigError, GraphError, DataError) is printed without a stack;
 * a BugError always prints one.
 */
export type FedauErrorCode =
  | 'FEDAU_USAGE'
  | 'FEDAU_CONFIG_PARSE'
  | 'FEDAU_CONFIG_INVALID'
  | 'FEDAU_UNKNOWN_STAGE_KIND'
  | 'FEDAU_UNKNOWN_PARAM'
  | 'FEDAU_GRAPH_CYCLE'
  | 'FEDAU_MISSING_INPUT'
  | 'FEDAU_INPUT_KIND'
  | 'FEDAU_STAGE_FAILED'
  | 'FEDAU_DATA'
  | 'FEDAU_BACKEND'
  | 'FEDAU_GPU'
  | 'FEDAU_REDIS'
  | 'FEDAU_STORE_CORRUPT'
  | 'FEDAU_STORE_BUSY'
  | 'FEDAU_INTERRUPTED'
  | 'FEDAU_BUG';

export interface ErrorInfo {
  hint?: string;
  /** Source file of the problem (a pipeline YAML, a data file). */
  file?: string;
  line?: number;
  col?: number;
  /** Path inside the YAML document, e.g. `stages.split.with.beta`. */
  path?: string;
  stageId?: string;
  stageKind?: string;
  expected?: string;
  got?: string;
  cause?: unknown;
}

export class FedauError extends Error {
  readonly code: FedauErrorCode;
  readonly info: ErrorInfo;
  constructor(code: FedauErrorCode, message: string, info: ErrorInfo = {}) {
    super(message, info.cause === undefined ? undefined : { cause: info.cause });
    this.code = code;
    this.info = info;
    this.name = new.target.name;
  }
  /** True when the user can fix it: no stack trace is shown. */
  get isUserError(): boolean {
    return !(this instanceof BugError);
  }
}

/** YAML, schema, references, --set overrides: user-fixable before anything runs. */
export class ConfigError extends FedauError {}
/** Cycles and unresolved `needs`. */
export class GraphError extends FedauError {}
/** A dataset file or download that is missing, corrupt or does not match its checksum. */
export class DataError extends FedauError {
  constructor(message: string, info: ErrorInfo = {}) {
    super('FEDAU_DATA', message, info);
  }
}
/** A stage that failed, wrapping whatever it threw with the stage id and kind. */
export class StageError extends FedauError {}
/** fedau's own fault: always printed with a stack and a request to report it. */
export class BugError extends FedauError {
  constructor(message: string, info: ErrorInfo = {}) {
    super('FEDAU_BUG', message, info);
  }
}
export class InterruptedError extends FedauError {
  constructor(message = 'interrupted') {
    super('FEDAU_INTERRUPTED', message);
  }
}

/** Plain, JSON-safe form of an error, for events and run records. */
export interface SerializedError {
  name: string;
  code: string;
  message: string;
  info?: Omit<ErrorInfo, 'cause'>;
  stack?: string;
  causes?: string[];
}

export function serializeError(error: unknown): SerializedError {
  if (error instanceof FedauError) {
    const { cause, ...info } = error.info;
    return {
      name: error.name,
      code: error.code,
      message: error.message,
      info,
      stack: error.stack,
      causes: causeChain(cause),
    };
  }
  if (error instanceof Error) {
    return {
      name: error.name,
      code: 'FEDAU_BUG',
      message: error.message,
      stack: error.stack,
      causes: causeChain(error.cause),
    };
  }
  return { name: 'Error', code: 'FEDAU_BUG', message: String(error) };
}

function causeChain(cause: unknown): string[] | undefined {
  const out: string[] = [];
  for (let c = cause, depth = 0; c !== undefined && depth < 5; depth++) {
    out.push(c instanceof Error ? c.message : String(c));
    c = c instanceof Error ? c.cause : undefined;
  }
  return out.length ? out : undefined;
}

/** Format a "where" prefix: `file:line:col  path`. */
export function formatWhere(info: ErrorInfo): string {
  const parts: string[] = [];
  if (info.file) {
    parts.push(info.line ? `${info.file}:${info.line}${info.col ? `:${info.col}` : ''}` : info.file);
  }
  if (info.path) parts.push(info.path);
  return parts.join('  ');
}

/** Human rendering used by the CLI and the plain reporter. */
export function formatError(error: SerializedError | FedauError, opts: { verbose?: boolean } = {}): string {
  const e = error instanceof FedauError ? serializeError(error) : error;
  const info = e.info ?? {};
  const where = formatWhere(info);
  const lines = [`✖ ${where ? `${where}: ` : ''}${e.message}   [${e.code}]`];
  if (info.expected !== undefined || info.got !== undefined) {
    lines.push(`  expected ${info.expected ?? '?'}, got ${info.got ?? '?'}`);
  }
  for (const c of e.causes ?? []) lines.push(`  caused by: ${c}`);
  if (info.hint) lines.push(`  hint: ${info.hint}`);
  if (e.stack && (opts.verbose || e.code === 'FEDAU_BUG')) {
    lines.push(e.stack.split('\n').slice(1).join('\n'));
    if (e.code === 'FEDAU_BUG') lines.push('  this is a bug in fedau: please report it with the command you ran');
  }
  return lines.join('\n');
}

/** "did you mean" by edit distance, for unknown names. */
export function didYouMean(name: string, candidates: Iterable<string>): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const c of candidates) {
    const [a, b] = [name.toLowerCase(), c.toLowerCase()];
    // A prefix either way ("out" for "output") is as good a guess as a typo.
    const d = a.startsWith(b) || b.startsWith(a) ? 1 : editDistance(a, b);
    if (d < bestDistance) {
      bestDistance = d;
      best = c;
    }
  }
  if (best === undefined) return undefined;
  return bestDistance <= Math.max(2, Math.floor(best.length / 3)) ? best : undefined;
}

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diag = row[0];
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const up = row[j];
      row[j] = Math.min(row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = up;
    }
  }
  return row[b.length];
}

/** A hint listing the valid names, with "did you mean" first when one is close. */
export function unknownNameHint(name: string, candidates: string[]): string {
  const close = didYouMean(name, candidates);
  const list = candidates.length ? `valid: ${candidates.join(', ')}` : 'there are none';
  return close ? `did you mean "${close}"? (${list})` : list;
}
