import { readFile } from 'node:fs/promises';
import { isAbsolute, relative } from 'node:path';
import { type Document, isMap, isPair, isScalar, LineCounter, type Node, parseDocument, visit } from 'yaml';
import { ConfigError } from '../core/errors.ts';

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
  return { file, doc, lineCounter, value: toPlainValue(doc, file, lineCounter) };
}

/**
 * How many nodes the file's aliases may expand to. A pipeline that shares a block of params between stages with an
 * anchor stays far below; a file whose nested aliases expand to millions of nodes (an "alias bomb") would otherwise
 * exhaust memory before anything is checked.
 */
export const MAX_ALIAS_EXPANSION = 10_000;

function toPlainValue(doc: Document, file: string, lineCounter: LineCounter): unknown {
  try {
    return doc.toJS({ maxAliasCount: MAX_ALIAS_EXPANSION });
  } catch (error) {
    if (!(error instanceof ReferenceError)) throw error;
    throw new ConfigError('FEDAU_CONFIG_PARSE', "the YAML's anchors and aliases expand to too many nodes", {
      file,
      ...firstAliasPosition(doc, lineCounter),
      expected: `at most ${MAX_ALIAS_EXPANSION} nodes from aliases`,
      got: 'more (nested aliases multiply: an "alias bomb")',
      hint: 'write the repeated parts out, or use fewer levels of aliases of aliases',
    });
  }
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

/** Where the first alias of the document is: the place to start looking. */
function firstAliasPosition(doc: Document, lineCounter: LineCounter): { line?: number; col?: number } {
  let offset: number | undefined;
  visit(doc, {
    Alias(_, node) {
      offset = node.range?.[0];
      return visit.BREAK;
    },
  });
  return offset === undefined ? {} : lineCounter.linePos(offset);
}
