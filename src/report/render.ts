import type { Chart } from './charts.ts';
import { sections, setupText, type Table } from './documents.ts';
import type { ReportJson } from './report-data.ts';

const title = (r: ReportJson) => `${r.pipeline}: FedAU ${r.mode} unlearning on ${r.dataset} (${r.model})`;

export function reportMarkdown(r: ReportJson, charts: Chart[]): string {
  const md = (t: Table) =>
    [
      `| ${t.header.join(' | ')} |`,
      `| ${t.header.map(() => '---').join(' | ')} |`,
      ...t.rows.map((row) => `| ${row.join(' | ')} |`),
    ].join('\n');
  const lines = [`# ${title(r)}`, '', setupText(r), ''];
  for (const s of sections(r, charts)) {
    lines.push(`## ${s.heading}`, '');
    for (const b of s.blocks) {
      if ('text' in b) lines.push(b.text, '');
      else if ('table' in b) lines.push(md(b.table), '');
      else lines.push(`![${b.title}](charts/${b.chart}.svg)`, '');
    }
  }
  lines.push(
    'Files: `report.html` (this report with its charts inline), `metrics.csv`, `history.csv`; ' +
      'each chart in `charts/` as a Vega-Lite spec (`.vl.json`) beside its data (`.csv`).',
    '',
  );
  return lines.join('\n');
}

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
/** Markdown's inline marks that the report's texts use: `code` and **bold**. */
const inline = (s: string) =>
  esc(s)
    .replace(/`([^`]+)`/g, '<code>$1</code>')
    .replace(/\*\*([^*]+)\*\*/g, '<strong>$1</strong>');

/** A self-contained page: the same sections, with every chart's SVG inline. */
export function reportHtml(r: ReportJson, charts: Chart[], svgs: Record<string, string>): string {
  const table = (t: Table) =>
    `<table><thead><tr>${t.header.map((h) => `<th>${esc(h)}</th>`).join('')}</tr></thead><tbody>${t.rows
      .map((row) => `<tr>${row.map((c) => `<td>${esc(c)}</td>`).join('')}</tr>`)
      .join('')}</tbody></table>`;
  const text = (t: string) =>
    t.startsWith('- ')
      ? `<ul>${t
          .split('\n')
          .map((l) => `<li>${inline(l.slice(2))}</li>`)
          .join('')}</ul>`
      : `<p>${inline(t)}</p>`;
  const body = sections(r, charts)
    .map(
      (s) =>
        `<h2>${esc(s.heading)}</h2>\n${s.blocks
          .map((b) =>
            'text' in b
              ? text(b.text)
              : 'table' in b
                ? table(b.table)
                : `<figure>${svgs[b.chart]}<figcaption>${esc(b.title)}</figcaption></figure>`,
          )
          .join('\n')}`,
    )
    .join('\n');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${esc(title(r))}</title>
<style>
body { font-family: Helvetica, Arial, sans-serif; margin: 2em auto; max-width: 1100px; color: #222; }
table { border-collapse: collapse; margin: 0.8em 0; font-size: 0.9em; }
th, td { border: 1px solid #ccc; padding: 0.3em 0.6em; text-align: right; }
th:first-child, td:first-child { text-align: left; }
th { background: #f3f3f3; }
figure { margin: 1em 0; } figcaption { color: #555; font-size: 0.9em; }
code { background: #f3f3f3; padding: 0 0.2em; }
</style></head>
<body>
<h1>${esc(title(r))}</h1>
<p>${inline(setupText(r))}</p>
${body}
</body></html>
`;
}

/** One row per variant and model: every figure of the report, for spreadsheets and scripts. */
