/** A line on a chart: points as [x, y]; gaps where y is missing. */
export interface Series {
  name: string;
  points: [number, number][];
  color: string;
  dashed?: boolean;
}

export interface ChartSpec {
  title: string;
  xLabel: string;
  yLabel: string;
  series: Series[];
  yDomain?: [number, number];
  width?: number;
  height?: number;
}

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const fmt = (n: number) => (Number.isInteger(n) ? String(n) : n.toFixed(2));

/**
 * A self-contained SVG line chart (no dependency, deterministic text): axes with ticks, a light grid, one
 * polyline and dots per series, and a legend. Good enough to look at a training curve in any Markdown viewer.
 */
export function lineChart(spec: ChartSpec): { svg: string; width: number; height: number } {
  const width = spec.width ?? 420;
  const height = spec.height ?? 300;
  const m = { left: 52, right: 14, top: 30, bottom: 64 };
  const xs = spec.series.flatMap((s) => s.points.map((p) => p[0]));
  const [x0, x1] = xs.length ? [Math.min(...xs), Math.max(...xs)] : [0, 1];
  const [y0, y1] = spec.yDomain ?? [0, 1];
  const px = (x: number) => m.left + ((x - x0) / Math.max(1e-9, x1 - x0)) * (width - m.left - m.right);
  const py = (y: number) => height - m.bottom - ((y - y0) / Math.max(1e-9, y1 - y0)) * (height - m.top - m.bottom);
  const out: string[] = [];
  out.push(
    `<text x="${width / 2}" y="18" text-anchor="middle" font-size="13" font-weight="bold">${esc(spec.title)}</text>`,
  );
  for (let i = 0; i <= 5; i++) {
    const y = y0 + ((y1 - y0) * i) / 5;
    out.push(
      `<line x1="${m.left}" x2="${width - m.right}" y1="${py(y).toFixed(1)}" ` +
        `y2="${py(y).toFixed(1)}" stroke="#e5e5e5"/>`,
    );
    out.push(`<text x="${m.left - 6}" y="${(py(y) + 4).toFixed(1)}" text-anchor="end" font-size="10">${fmt(y)}</text>`);
  }
  // Rounds are whole numbers: ticks at multiples of 1, 2, 5, 10, 20, 50... about eight of them.
  const step = niceStep((x1 - x0) / 8);
  for (let x = Math.ceil(x0 / step) * step; x <= x1; x += step) {
    out.push(
      `<text x="${px(x).toFixed(1)}" y="${height - m.bottom + 14}" ` +
        `text-anchor="middle" font-size="10">${fmt(x)}</text>`,
    );
  }
  out.push(
    `<line x1="${m.left}" x2="${width - m.right}" y1="${height - m.bottom}" y2="${height - m.bottom}" stroke="#333"/>`,
  );
  out.push(`<line x1="${m.left}" x2="${m.left}" y1="${m.top}" y2="${height - m.bottom}" stroke="#333"/>`);
  out.push(
    `<text x="${(m.left + width - m.right) / 2}" y="${height - m.bottom + 30}" ` +
      `text-anchor="middle" font-size="11">${esc(spec.xLabel)}</text>`,
  );
  out.push(
    `<text transform="translate(14 ${(m.top + height - m.bottom) / 2}) rotate(-90)" ` +
      `text-anchor="middle" font-size="11">${esc(spec.yLabel)}</text>`,
  );
  for (const s of spec.series) {
    if (!s.points.length) continue;
    const d = s.points.map(([x, y]) => `${px(x).toFixed(1)},${py(y).toFixed(1)}`).join(' ');
    out.push(
      `<polyline fill="none" stroke="${s.color}" stroke-width="2"` +
        `${s.dashed ? ' stroke-dasharray="6 4"' : ''} points="${d}"/>`,
    );
    for (const [x, y] of s.points)
      out.push(`<circle cx="${px(x).toFixed(1)}" cy="${py(y).toFixed(1)}" r="2.5" fill="${s.color}"/>`);
  }
  spec.series.forEach((s, i) => {
    const lx = m.left + (i % 2) * 170;
    const ly = height - 16 + Math.floor(i / 2) * 14 - (spec.series.length > 2 ? 8 : 0);
    out.push(
      `<line x1="${lx}" x2="${lx + 22}" y1="${ly - 4}" y2="${ly - 4}" stroke="${s.color}" stroke-width="2"` +
        `${s.dashed ? ' stroke-dasharray="6 4"' : ''}/>`,
    );
    out.push(`<text x="${lx + 28}" y="${ly}" font-size="10">${esc(s.name)}</text>`);
  });
  return { svg: out.join('\n'), width, height };
}

function niceStep(raw: number): number {
  if (!(raw > 1)) return 1;
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  const unit = [1, 2, 5, 10].find((u) => u * magnitude >= raw)!;
  return unit * magnitude;
}

/** Charts side by side in one SVG document. */
export function svgDocument(charts: { svg: string; width: number; height: number }[]): string {
  const width = charts.reduce((w, c) => w + c.width, 0);
  const height = Math.max(...charts.map((c) => c.height));
  let x = 0;
  const groups = charts.map((c) => {
    const g = `<g transform="translate(${x} 0)">\n${c.svg}\n</g>`;
    x += c.width;
    return g;
  });
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" ` +
    `viewBox="0 0 ${width} ${height}" font-family="Helvetica, Arial, sans-serif">\n` +
    `<rect width="100%" height="100%" fill="white"/>\n${groups.join('\n')}\n</svg>\n`
  );
}
