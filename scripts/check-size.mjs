// Guard rail on the shape of the code: no source file in src/ or stages/ over 300 lines, no function over 100.
// A module that grows past that has more than one reason to change; a function past it, more than one job.
// Run by `npm run lint`; prints every offender with its place, exits 1 if there is one.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
export const MAX_FILE_LINES = 300;
export const MAX_FUNCTION_LINES = 100;

function sources(dir) {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return name === 'generated' ? [] : sources(path);
    return /\.(ts|tsx)$/.test(name) && !name.endsWith('.d.ts') ? [path] : [];
  });
}

/** Every function (declaration, expression, arrow, method) longer than the limit, with its name and lines. */
export function longFunctions(text, file, limit = MAX_FUNCTION_LINES) {
  const sf = ts.createSourceFile(
    file,
    text,
    ts.ScriptTarget.Latest,
    true,
    file.endsWith('x') ? ts.ScriptKind.TSX : ts.ScriptKind.TS,
  );
  const out = [];
  const visit = (node) => {
    if (ts.isFunctionLike(node) && 'body' in node && node.body) {
      const start = sf.getLineAndCharacterOfPosition(node.getStart(sf)).line + 1;
      const end = sf.getLineAndCharacterOfPosition(node.getEnd()).line + 1;
      if (end - start + 1 > limit) out.push({ name: nameOf(node), start, lines: end - start + 1 });
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return out;
}

function nameOf(node) {
  if (node.name) return node.name.getText();
  const parent = node.parent;
  if (parent && ts.isVariableDeclaration(parent)) return parent.name.getText();
  if (parent && ts.isPropertyAssignment(parent)) return parent.name.getText();
  return '(anonymous)';
}

export function sizeProblems(root = ROOT) {
  const problems = [];
  for (const file of [...sources(join(root, 'src')), ...sources(join(root, 'stages'))]) {
    const text = readFileSync(file, 'utf8');
    const rel = relative(root, file);
    const lines = text.split('\n').length - (text.endsWith('\n') ? 1 : 0);
    if (lines > MAX_FILE_LINES) problems.push(`${rel}: ${lines} lines (at most ${MAX_FILE_LINES})`);
    for (const f of longFunctions(text, file)) {
      problems.push(`${rel}:${f.start}: function ${f.name} has ${f.lines} lines (at most ${MAX_FUNCTION_LINES})`);
    }
  }
  return problems;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const problems = sizeProblems();
  for (const p of problems) console.log(p);
  if (problems.length) {
    console.log(`✖ ${problems.length} file(s) or function(s) too long: split them by what they do`);
    process.exit(1);
  }
}
