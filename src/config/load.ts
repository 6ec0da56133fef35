import { readFile } from 'node:fs/promises';
import { isAbsolute, relative } from 'node:path';
import { type Document, isMap, isPair, isScalar, LineCounter, type Node, parseDocument } from 'yaml';
import { ConfigError } from '../engine/errors.ts';

export type YamlPath = (string | number)[];

/** A parsed pipeline file that still knows where every value came from. */
export interface LoadedPipeline {
  /** The path as the user should see it (relative to the working directory when inside it). */
  file: string;
  doc: Document;
  lineCounter: LineCounter;
  /** The plain JS value of the document. */
  value: unknown;
}

export function displayPath(path: string, cwd = process.cwd()): string {
  const rel = relative(cwd, path);
  return rel && !rel.startsWith('..') && !isAbsolute(rel) ? rel : path;
}

export async function loadPipelineFile(path: string): Promise<LoadedPipeline> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new ConfigError(
      'FEDAU_USAGE',
      code === 'ENOENT' ? `pipeline file not found: ${path}` : `cannot read pipeline file ${path}: ${code}`,
      {
        file: displayPath(path),
        hint: 'pass the path of a pipeline YAML, e.g. `fedau run pipelines/smoke.yaml`',
      },
    );
  }
  return parsePipelineText(text, displayPath(path));
}

export function parsePipelineText(text: string, file: string): LoadedPipeline {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, uniqueKeys: true, prettyErrors: false });
  const first = doc.errors[0];
  if (first) {
    const pos = lineCounter.linePos(first.pos[0]);
    throw new ConfigError(
      'FEDAU_CONFIG_PARSE',
      `invalid YAML: ${first.message.split('\n')[0].replace(/ at line \d+, column \d+:?$/, '')}`,
      {
        file,
        line: pos?.line,
        col: pos?.col,
        hint:
          first.code === 'DUPLICATE_KEY'
            ? 'each key may appear once in a mapping'
            : 'check indentation, colons and brackets near this position',
      },
    );
  }
  return { file, doc, lineCounter, value: doc.toJS() };
}

/**
 * The source position of `path`. With `atKey`, the position of the mapping key itself (for "unknown param"
 * errors); otherwise the value's. A path that does not exist resolves to its nearest existing ancestor.
 */
export function locate(
  loaded: LoadedPipeline,
  path: YamlPath,
  opts: { atKey?: boolean } = {},
): { line: number; col: number } | undefined {
  for (let depth = path.length; depth >= 0; depth--) {
    const sub = path.slice(0, depth);
    const range =
      opts.atKey && depth === path.length && depth > 0 ? keyRange(loaded.doc, sub) : valueRange(loaded.doc, sub);
    if (range) return loaded.lineCounter.linePos(range[0]);
  }
  return undefined;
}

function valueRange(doc: Document, path: YamlPath): readonly number[] | undefined {
  const node = (path.length ? doc.getIn(path, true) : doc.contents) as Node | undefined;
  return node && typeof node === 'object' && 'range' in node ? (node.range ?? undefined) : undefined;
}

function keyRange(doc: Document, path: YamlPath): readonly number[] | undefined {
  const parent = path.length > 1 ? doc.getIn(path.slice(0, -1), true) : doc.contents;
  if (!isMap(parent)) return undefined;
  const last = path[path.length - 1];
  for (const pair of parent.items) {
    if (isPair(pair) && isScalar(pair.key) && pair.key.value === last) return pair.key.range ?? undefined;
  }
  return undefined;
}
