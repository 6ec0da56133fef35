import { mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { packContainer, unpackContainer } from '../src/data/container.ts';
import { writeFileAtomic } from '../src/engine/fs-atomic.ts';
import { defineStage } from '../src/engine/stage.ts';
import { buildReportJson, curvesSvg, type History, reportMarkdown } from '../src/report/report.ts';
import type { Metrics } from './evaluate.ts';

const FILES = ['report.md', 'report.json', 'curves.svg'] as const;
const decode = (b: Uint8Array) => JSON.parse(new TextDecoder().decode(b));

export default defineStage<{ dir: string }>({
  kind: 'report',
  version: 1,
  summary: 'Write reports/<pipeline name>/report.md, report.json and curves.svg (and keep them in the store).',
  inputs: { metrics: 'metrics', history: 'history' },
  outputs: { report: 'report' },
  async run(ctx) {
    const metrics = decode(await ctx.readArtifact(ctx.inputs.metrics)) as Metrics;
    const history = decode(await ctx.readArtifact(ctx.inputs.history)) as History;
    const meta = ctx.inputs.metrics.meta ?? {};
    const json = buildReportJson(ctx.pipeline.name, metrics, history, {
      unlearn: Number(meta.unlearnSeconds ?? 0),
      evaluate: Number(meta.seconds ?? 0),
    });
    const enc = (s: string) => new TextEncoder().encode(s);
    const bytes = packContainer(
      'report',
      { files: FILES },
      {
        'report.md': enc(reportMarkdown(json)),
        'report.json': enc(`${JSON.stringify(json, null, 2)}\n`),
        'curves.svg': enc(curvesSvg(json)),
      },
    );
    ctx.progress({ step: 1, total: 1, label: 'written' });
    return { report: await ctx.writeArtifact('report', bytes, { pipeline: ctx.pipeline.name }) };
  },
  // Runs on cache hits too, so reports/<name>/ always shows the latest result of the pipeline.
  async publish(ctx, outputs) {
    const { sections } = unpackContainer<{ files: string[] }>(await ctx.readArtifact(outputs.report), 'report');
    const dir = resolve(ctx.workDir, ctx.params.dir, ctx.pipeline.name);
    await mkdir(dir, { recursive: true });
    const written = [];
    for (const name of FILES) {
      const path = join(dir, name);
      await writeFileAtomic(path, sections[name] as Uint8Array, dir);
      written.push(path);
    }
    ctx.log('info', `report: ${join(ctx.params.dir, ctx.pipeline.name, 'report.md')}`);
    return written;
  },
});
