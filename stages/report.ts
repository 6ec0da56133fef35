import { randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { decodeArtifact } from '../src/artifacts/codecs.ts';
import { DataError } from '../src/core/errors.ts';
import { writeFileAtomic } from '../src/core/fs-atomic.ts';
import { defineStage } from '../src/engine/stage.ts';
import type { ReportParams } from '../src/generated/stage-params.ts';
import { reportJson, variantReport } from '../src/report/build-json.ts';
import type { ReportJson } from '../src/report/report-data.ts';

const num = (x: unknown) => (x === undefined ? null : Number(x));

/** `learnSeconds.<id>` and `unlearnSeconds.<id>` of the evaluation's meta, by method id. */
function methodSeconds(meta: Readonly<Record<string, unknown>>) {
  const out: Record<string, { learnSeconds: number; unlearnSeconds: number }> = {};
  for (const [key, value] of Object.entries(meta)) {
    const [what, id] = key.split('.');
    if (!id || (what !== 'learnSeconds' && what !== 'unlearnSeconds')) continue;
    out[id] ??= { learnSeconds: 0, unlearnSeconds: 0 };
    out[id][what] = Number(value);
  }
  return out;
}

export default defineStage<ReportParams>()({
  kind: 'report',
  version: 4,
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
          metrics: await ctx.decode({ ...v.inputs.metrics, kind: 'metrics' }),
          history: await ctx.decode({ ...v.inputs.history, kind: 'history' }),
          retrainHistory: v.inputs.retrainHistory
            ? await ctx.decode({ ...v.inputs.retrainHistory, kind: 'history' })
            : undefined,
          seconds: {
            train: Number(v.inputs.history.meta?.seconds ?? 0),
            retrain: v.inputs.retrainHistory ? num(v.inputs.retrainHistory.meta?.seconds) : null,
            unlearn: Number(metricsMeta.unlearnSeconds ?? 0),
            evaluate: Number(metricsMeta.seconds ?? 0),
          },
          methodSeconds: methodSeconds(metricsMeta),
        }),
      );
    }
    if (ctx.failedVariants?.length) ctx.log('warn', `variants that failed, left out: ${ctx.failedVariants.join('; ')}`);
    ctx.progress({ step: 0, total: 1, label: 'charts' });
    const json = reportJson(ctx.pipeline.name, variants, ctx.failedVariants ?? [], variants[0].id !== '');
    const enc = (s: string) => new TextEncoder().encode(s);
    const files = Object.fromEntries(Object.entries(await reportFiles(json)).map(([name, text]) => [name, enc(text)]));
    ctx.progress({ step: 1, total: 1, label: 'written' });
    return { report: { value: files, meta: { pipeline: ctx.pipeline.name } } };
  },
  // Runs on cache hits too, so reports/<name>/ always shows the latest result of the pipeline.
  async publish(ctx, outputs) {
    const files = decodeArtifact('report', await ctx.readArtifact(outputs.report));
    const dir = resolve(ctx.workDir, ctx.params.dir, ctx.pipeline.name);
    await publishReportFolder(dir, files, ctx.pipeline.name);
    ctx.log('info', `report: ${join(ctx.params.dir, ctx.pipeline.name, 'report.html')} (and report.md)`);
    return Object.keys(files).map((name) => join(dir, name));
  },
});

/** Inside every report folder fedau writes: only a folder that has it is ever replaced. */
const REPORT_MARKER = '.fedau-report';

/** The files a report folder holds: what fedau versions before the marker wrote, and nothing else. */
const REPORT_FILES = /^(report\.(json|md|html)|metrics\.csv|history\.csv|charts)$/;

/**
 * Whether fedau wrote the folder: it holds the marker, or it is a report of this pipeline written before markers
 * existed (report files only, and a report.json naming the pipeline).
 */
async function writtenByFedau(dir: string, pipeline: string): Promise<boolean> {
  if (await stat(join(dir, REPORT_MARKER)).catch(() => undefined)) return true;
  const entries = await readdir(dir).catch(() => undefined);
  if (!entries?.includes('report.json') || !entries.every((e) => REPORT_FILES.test(e))) return false;
  try {
    return JSON.parse(await readFile(join(dir, 'report.json'), 'utf8')).pipeline === pipeline;
  } catch {
    return false;
  }
}

/**
 * Writes the report beside its destination and swaps it in, so a reader never sees a half-written report. The
 * folder it replaces must be one fedau wrote (it holds the marker): any other folder at that path is the user's,
 * and is left alone with a clear error, whatever `dir` and the pipeline name point at.
 */
async function publishReportFolder(dir: string, files: Record<string, Uint8Array>, pipeline: string): Promise<void> {
  const existing = await stat(dir).catch(() => undefined);
  if (existing && !(await writtenByFedau(dir, pipeline))) {
    throw new DataError(`${dir} exists and was not written by fedau: the report will not replace it`, {
      path: 'report.dir',
      expected: 'a new folder, or a report folder of an earlier run',
      got: existing.isDirectory() ? 'a folder of yours' : 'a file',
      hint: 'set another report dir (--set <report stage>.dir=reports) or pipeline name, or move that folder away',
    });
  }
  const suffix = `${process.pid}-${randomBytes(4).toString('hex')}`;
  const staging = `${dir}.fedau-writing-${suffix}`;
  try {
    for (const [name, bytes] of Object.entries(files)) {
      const path = join(staging, name);
      await mkdir(dirname(path), { recursive: true });
      await writeFileAtomic(path, bytes, dirname(path));
    }
    await writeFile(join(staging, REPORT_MARKER), `${JSON.stringify({ pipeline })}\n`);
    if (existing) {
      const old = `${dir}.fedau-old-${suffix}`;
      await rename(dir, old);
      await rename(staging, dir);
      await rm(old, { recursive: true, force: true });
    } else {
      await mkdir(dirname(dir), { recursive: true });
      await rename(staging, dir);
    }
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
}

/** Vega is loaded on first use, not with the stage: commands that never write a report stay fast to start. */
async function reportFiles(json: ReportJson): Promise<Record<string, string>> {
  const build = await import('../src/report/build.ts');
  return build.reportFiles(json);
}
