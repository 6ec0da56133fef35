import { mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { unpackHistory } from '../src/artifacts/history.ts';
import { unpackMetrics } from '../src/artifacts/metrics.ts';
import { packReport, unpackReport } from '../src/artifacts/report.ts';
import { writeFileAtomic } from '../src/engine/fs-atomic.ts';
import { defineStage } from '../src/engine/stage.ts';
import type { ReportParams } from '../src/generated/stage-params.ts';
import { buildReportJson, curvesSvg, reportMarkdown } from '../src/report/report.ts';

export default defineStage<ReportParams>({
  kind: 'report',
  version: 1,
  summary: 'Write reports/<pipeline name>/report.md, report.json and curves.svg (and keep them in the store).',
  inputs: { metrics: 'metrics', history: 'history' },
  outputs: { report: 'report' },
  async run(ctx) {
    const metrics = unpackMetrics(await ctx.readArtifact(ctx.inputs.metrics));
    const history = unpackHistory(await ctx.readArtifact(ctx.inputs.history));
    const meta = ctx.inputs.metrics.meta ?? {};
    const json = buildReportJson(ctx.pipeline.name, metrics, history, {
      train: Number(ctx.inputs.history.meta?.seconds ?? 0),
      unlearn: Number(meta.unlearnSeconds ?? 0),
      evaluate: Number(meta.seconds ?? 0),
    });
    const enc = (s: string) => new TextEncoder().encode(s);
    const bytes = packReport({
      'report.md': enc(reportMarkdown(json)),
      'report.json': enc(`${JSON.stringify(json, null, 2)}\n`),
      'curves.svg': enc(curvesSvg(json)),
    });
    ctx.progress({ step: 1, total: 1, label: 'written' });
    return { report: await ctx.writeArtifact('report', bytes, { pipeline: ctx.pipeline.name }) };
  },
  // Runs on cache hits too, so reports/<name>/ always shows the latest result of the pipeline.
  async publish(ctx, outputs) {
    const files = unpackReport(await ctx.readArtifact(outputs.report));
    const dir = resolve(ctx.workDir, ctx.params.dir, ctx.pipeline.name);
    await mkdir(dir, { recursive: true });
    const written = [];
    for (const [name, bytes] of Object.entries(files)) {
      const path = join(dir, name);
      await writeFileAtomic(path, bytes, dir);
      written.push(path);
    }
    ctx.log('info', `report: ${join(ctx.params.dir, ctx.pipeline.name, 'report.md')}`);
    return written;
  },
});
