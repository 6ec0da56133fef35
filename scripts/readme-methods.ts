// Fills the README's methods results from matrix runs of the methods pipelines:
//   node --import tsx scripts/readme-methods.ts <report.json>...
// One table per report (mean ± std over its seeds) and the report's own "where it falls short" lines, so the README
// says exactly what the reports say.
import { readFileSync, writeFileSync } from 'node:fs';
import { FORGET_LABEL } from '../src/report/charts.ts';
import { meanStd, methodLabel, methodsOf } from '../src/report/methods-table.ts';
import type { ReportJson } from '../src/report/report-data.ts';
import { shortfallLines } from '../src/report/shortfalls.ts';

export const BEGIN = '<!-- methods-results:begin -->';
export const END = '<!-- methods-results:end -->';

function table(r: ReportJson): string[] {
  const a = r.aggregate?.[0];
  if (!a) throw new Error(`${r.pipeline}: not a matrix run (no aggregate)`);
  const v = r.variants![0];
  const forget = FORGET_LABEL[v.forgetMetric];
  const forgetKey = v.forgetMetric === 'forget-accuracy' ? 'forgetTrain' : 'forget';
  const head = [
    'method',
    'test accuracy',
    forget,
    `relearn rounds (cap ${v.relearn?.maxRounds ?? 'n/a'})`,
    'classifier MIA',
    'agreement with retrain',
    'unlearning time, s',
    'storage, MB',
  ];
  const model = (p: string) => [
    meanStd(a, `${p}.testAccuracy`, 4),
    meanStd(a, `${p}.${forgetKey}`, 4),
    meanStd(a, `${p}.relearnRounds`, 1),
    meanStd(a, `${p}.mia`, 3),
  ];
  const rows = [[`FedAU model before unlearning (MIA: the attack's power)`, ...model('original'), '—', '—', '—']];
  for (const id of methodsOf(v)) {
    const p = `methods.${id}`;
    rows.push([
      `${methodLabel(id)} (\`${id}\`)`,
      ...model(p),
      meanStd(a, `${p}.comparison.agreement`, 4),
      meanStd(a, `${p}.cost.unlearnSeconds`, 2),
      meanStd(a, `${p}.cost.storageBytes`, 1, 1e-6),
    ]);
  }
  return [head, head.map(() => '---'), ...rows].map((row) => `| ${row.join(' | ')} |`);
}

const SUFFIX = / \(means over \d+ seeds; beyond the 95% t-interval of the per-seed differences\)\.?$/;
const PER_CLASS = /^(.+?): class (\d+): accuracy ([0-9.]+) against ([0-9.]+) retrained$/;

/** The report's lines without the suffix the heading states, one line per method for its per-class shortfalls. */
function compact(lines: string[]): string[] {
  const out: string[] = [];
  const perClass = new Map<string, string[]>();
  for (const line of lines.map((l) => l.replace(SUFFIX, ''))) {
    const m = PER_CLASS.exec(line);
    if (!m) {
      out.push(line);
      continue;
    }
    if (!perClass.has(m[1])) out.push(m[1]);
    perClass.set(m[1], [...(perClass.get(m[1]) ?? []), `${m[2]} (${m[3]} vs ${m[4]})`]);
  }
  return out.map((l) =>
    perClass.has(l)
      ? `${l}: per-class accuracy below the retrained model's on class ${perClass.get(l)!.join(', ')}`
      : l,
  );
}

export function methodsResults(reports: ReportJson[]): string {
  const out: string[] = [];
  for (const r of reports) {
    const seeds = r.aggregate?.[0].seeds.join(', ');
    out.push(`**\`${r.pipeline}\`** (seeds ${seeds}; mean ± std over seeds)`, '', ...table(r), '');
    const short = compact(shortfallLines(r));
    out.push('Where each method falls short of the retrained model (beyond the 95% t-interval over seeds):', '');
    out.push(...(short.length ? short.map((l) => `- ${l}`) : ['- nowhere beyond noise']), '');
  }
  return out.join('\n').trim();
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const reports = process.argv.slice(2).map((p) => JSON.parse(readFileSync(p, 'utf8')) as ReportJson);
  const path = new URL('../README.md', import.meta.url);
  const readme = readFileSync(path, 'utf8');
  const start = readme.indexOf(BEGIN);
  const end = readme.indexOf(END);
  if (start < 0 || end < start) throw new Error('README.md lacks the methods-results markers');
  writeFileSync(path, `${readme.slice(0, start + BEGIN.length)}\n${methodsResults(reports)}\n${readme.slice(end)}`);
}
