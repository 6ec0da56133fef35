import { readFile, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { ConfigError } from '../../core/errors.ts';
import { columnsOf, comparisonTable } from '../../report/compare.ts';
import type { ReportJson } from '../../report/report-data.ts';
import { type CommandSpec, parseArgs } from '../args.ts';
import type { CliContext } from '../context.ts';

export const compareSpec: CommandSpec = {
  name: 'compare',
  usage: 'fedau compare <report dir or report.json>... [--markdown | --json]',
  summary:
    'The figures of several runs side by side (a matrix run: one column per combination, mean ± std over seeds).',
  positionals: Number.POSITIVE_INFINITY,
  flags: [
    { name: 'markdown', arg: 'boolean', description: 'print a Markdown table' },
    { name: 'json', arg: 'boolean', description: 'print the columns as JSON' },
  ],
};

export async function compareCommand(argv: string[], ctx: CliContext): Promise<number> {
  const { positionals, flags } = parseArgs(argv, compareSpec);
  if (!positionals.length) {
    throw new ConfigError('FEDAU_USAGE', '`fedau compare` needs at least one report', {
      hint: 'e.g. fedau compare reports/mnist-ul-samples reports/mnist-ul-client',
    });
  }
  const reports = await Promise.all(positionals.map(readReport));
  const columns = reports.flatMap(({ name, json }) => columnsOf(name, json));
  if (flags.json) {
    ctx.out(JSON.stringify(columns, null, 2));
    return 0;
  }
  const table = comparisonTable(
    columns,
    reports.map((r) => r.json.forgetMetric),
  );
  if (flags.markdown) {
    ctx.out(`| ${table.header.join(' | ')} |`);
    ctx.out(`| ${table.header.map(() => '---').join(' | ')} |`);
    for (const row of table.rows) ctx.out(`| ${row.join(' | ')} |`);
    return 0;
  }
  const widths = table.header.map((_, i) => Math.max(...[table.header, ...table.rows].map((r) => r[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => (i ? c.padStart(widths[i]) : c.padEnd(widths[i]))).join('  ');
  ctx.out(line(table.header));
  for (const row of table.rows) ctx.out(line(row));
  return 0;
}

/** A report folder (reports/<name>/) or its report.json. */
async function readReport(path: string): Promise<{ name: string; json: ReportJson }> {
  const file = (await stat(path).catch(() => undefined))?.isDirectory() ? join(path, 'report.json') : path;
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch {
    throw new ConfigError('FEDAU_USAGE', `no report at ${path}`, {
      file,
      hint: 'give a report folder (reports/<pipeline>/) or its report.json; `fedau run` writes them',
    });
  }
  try {
    const json = JSON.parse(text) as ReportJson;
    if (!json.original || !json.pipeline) throw new Error('not a report');
    return { name: json.pipeline ?? basename(dirname(file)), json };
  } catch {
    throw new ConfigError('FEDAU_USAGE', `${file} is not a fedau report.json`, {
      file,
      hint: 'it is written by the report stage; rerun the pipeline to regenerate it',
    });
  }
}
