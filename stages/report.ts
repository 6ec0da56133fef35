import { mkdir, rename, rm } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { unpackHistory } from '../src/artifacts/history.ts';
import { unpackMetrics } from '../src/artifacts/metrics.ts';
import { packReport, unpackReport } from '../src/artifacts/report.ts';
import { writeFileAtomic } from '../src/engine/fs-atomic.ts';
import { defineStage } from '../src/engine/stage.ts';
import type { ReportParams } from '../src/generated/stage-params.ts';
import { reportJson, variantReport } from '../src/report/build-json.ts';
import type { ReportJson } from '../src/report/report-data.ts';

const num = (x: unknown) => (x === undefined ? null : Number(x));

export default defineStage<ReportParams>({
  kind: 'report',
  version: 2,
  summary:
    'Write reports/<pipeline name>/: report.md and a self-contained report.html with charts (Vega-Lite specs beside ' +
    'their data), report.json, metrics.csv and history.csv; a matrix run aggregates over seeds.',
  inputs: { metrics: 'metrics', history: 'history', retrainHistory: 'history' },
  optionalInputs: ['retrainHistory'],
  outputs: { report: 'report' },
  gather: true,
  seeded: () => false,
  async run(ctx) {
    const variants = [];
    for (const v of ctx.variants!) {
      const metricsMeta = v.inputs.metrics.meta ?? {};
      variants.push(
        variantReport({
          id: v.id,
          values: v.values,
          metrics: unpackMetrics(await ctx.readArtifact(v.inputs.metrics)),
          history: unpackHistory(await ctx.readArtifact(v.inputs.history)),
          retrainHistory: v.inputs.retrainHistory
            ? unpackHistory(await ctx.readArtifact(v.inputs.retrainHistory))
            : undefined,
          seconds: {
            train: Number(v.inputs.history.meta?.seconds ?? 0),
            retrain: v.inputs.retrainHistory ? num(v.inputs.retrainHistory.meta?.seconds) : null,
            unlearn: Number(metricsMeta.unlearnSeconds ?? 0),
            evaluate: Number(metricsMeta.seconds ?? 0),
          },
        }),
      );
    }
    if (ctx.failedVariants?.length) ctx.log('warn', `variants that failed, left out: ${ctx.failedVariants.join('; ')}`);
    ctx.progress({ step: 0, total: 1, label: 'charts' });
    const json = reportJson(ctx.pipeline.name, variants, ctx.failedVariants ?? [], variants[0].id !== '');
    const enc = (s: string) => new TextEncoder().encode(s);
    const files = Object.fromEntries(Object.entries(await reportFiles(json)).map(([name, text]) => [name, enc(text)]));
    ctx.progress({ step: 1, total: 1, label: 'written' });
    return { report: await ctx.writeArtifact('report', packReport(files), { pipeline: ctx.pipeline.name }) };
  },
  // Runs on cache hits too, so reports/<name>/ always shows the latest result of the pipeline. The folder is
  // written beside the old one and swapped in, so a reader never sees a half-written report.
  async publish(ctx, outputs) {
    const files = unpackReport(await ctx.readArtifact(outputs.report));
    const dir = resolve(ctx.workDir, ctx.params.dir, ctx.pipeline.name);
    const staging = `${dir}.writing-${process.pid}`;
    await rm(staging, { recursive: true, force: true });
    const written = [];
    for (const [name, bytes] of Object.entries(files)) {
      const path = join(staging, name);
      await mkdir(dirname(path), { recursive: true });
      await writeFileAtomic(path, bytes, dirname(path));
      written.push(join(dir, name));
    }
    await rm(dir, { recursive: true, force: true });
    await rename(staging, dir);
    ctx.log('info', `report: ${join(ctx.params.dir, ctx.pipeline.name, 'report.html')} (and report.md)`);
    return written;
  },
});

/** Vega is loaded on first use, not with the stage: commands that never write a report stay fast to start. */
async function reportFiles(json: ReportJson): Promise<Record<string, string>> {
  const build = await import('../src/report/build.ts');
  return build.reportFiles(json);
}
