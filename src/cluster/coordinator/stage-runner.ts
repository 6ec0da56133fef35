import { inspectArtifact } from '../../artifacts/codecs.ts';
import type { ArtifactKind } from '../../artifacts/kinds.ts';
import type { ArtifactRef, RemoteStages, StageContext, StageDefinition } from '../../engine/stage.ts';
import { jobIdOf, STAGE_QUEUE, type StageJobPayload, type StageJobResult } from '../protocol.ts';
import type { Coordinator } from './coordinator.ts';
import { Provenance } from './provenance.ts';
import { sampledForVerification } from './verify.ts';

/** A stage whose outputs came from a worker unverified: what to compute again should that worker be banned. */
interface Accepted {
  stageId: string;
  worker: string;
  outputs: Record<string, ArtifactRef>;
  rerun(): Promise<Record<string, ArtifactRef>>;
}

/** A stage found wrong after it was accepted: its result, and what it should have been. */
export interface AuditFinding {
  stageId: string;
  worker: string;
  reason: string;
}

class MalformedOutputs extends Error {}

/**
 * Whole stages on the workers: the executor hands over the stages that declare `remote`, and still keys them,
 * looks them up, stores their outputs and writes their records. Every output a worker sends back is checked to be a
 * well-formed artifact of its declared kind; a seeded sample of stages (and any with non-finite floats) is run here
 * too and compared byte for byte; a worker caught wrong is banned and its stage run here instead. Stages a banned
 * worker answered earlier in the run, unverified, are run again at the end (`audit`).
 */
export function remoteStages(
  c: Coordinator,
  opts: { verify: number },
): RemoteStages & {
  audit(): Promise<AuditFinding[]>;
} {
  const accepted: Accepted[] = [];
  return {
    accepts: (def: StageDefinition) => def.remote === true,
    run: async (stage, ctx, runHere) => {
      const provenance = new Provenance();
      const answer = await submit(c, stage, ctx, provenance);
      if (answer instanceof MalformedOutputs || c.banned.has(answer.worker)) {
        ctx.log(
          'warn',
          `computed here: ${answer instanceof MalformedOutputs ? answer.message : `worker ${answer.worker} is banned`}`,
        );
        provenance.local();
        ctx.setProvenance(provenance.record(c.banned));
        return runHere();
      }
      const checked = !answer.finite || sampledForVerification(opts.verify, ctx.key);
      if (checked) {
        const mine = await runHere();
        if (!sameOutputs(mine, answer.outputs)) {
          await c.ban(answer.worker, `its outputs for stage ${stage.id} differ from this process's computation`);
          provenance.local();
          ctx.setProvenance(provenance.record(c.banned));
          return mine;
        }
      } else {
        accepted.push({ stageId: stage.id, worker: answer.worker, outputs: answer.outputs, rerun: runHere });
      }
      provenance.count(answer.worker, checked);
      ctx.setProvenance(provenance.record(c.banned));
      ctx.log('info', `ran on worker ${answer.worker}${checked ? ' (verified here)' : ''}`);
      return answer.outputs;
    },
    async audit() {
      const findings: AuditFinding[] = [];
      for (const a of accepted) {
        if (!c.banned.has(a.worker)) continue;
        if (!sameOutputs(await a.rerun(), a.outputs)) {
          findings.push({ stageId: a.stageId, worker: a.worker, reason: c.banned.get(a.worker)! });
        }
      }
      return findings;
    },
  };
}

/** The stage as a job: its inputs into Redis, its outputs out of it into the local store, checked for form. */
async function submit(
  c: Coordinator,
  stage: { id: string; kind: string; params: Record<string, unknown>; seed: number; def: StageDefinition },
  ctx: StageContext,
  provenance: Provenance,
): Promise<{ outputs: Record<string, ArtifactRef>; worker: string; finite: boolean } | MalformedOutputs> {
  return c.job({
    queue: STAGE_QUEUE,
    jobId: jobIdOf(ctx.runId, ctx.key, 'stage'),
    description: `stage ${stage.id}`,
    signal: ctx.signal,
    onProgress: (p) =>
      ctx.progress({ step: p.step, total: p.total, label: `${p.label ?? ''} · on ${p.worker}`.trim() }),
    prepare: async () => {
      for (const ref of Object.values(ctx.inputs)) {
        await c.putForRun(await ctx.readArtifact(ref), ref.digest);
      }
      const payload: StageJobPayload = {
        v: 1,
        runId: ctx.runId,
        stage: stage.id,
        kind: stage.kind,
        params: stage.params,
        seed: stage.seed,
        key: ctx.key,
        facts: c.facts!,
        inputs: { ...ctx.inputs },
      };
      return payload;
    },
    collect: async (raw, jobId) => {
      const result = raw as StageJobResult;
      if (!result || typeof result.outputs !== 'object' || typeof result.worker?.id !== 'string') {
        return new MalformedOutputs('the answer is not a stage result');
      }
      provenance.stamp(result.worker);
      const worker = result.worker.id;
      const digests = Object.values(result.outputs).map((r) => r?.digest);
      try {
        const outputs: Record<string, ArtifactRef> = {};
        let finite = true;
        for (const [name, kind] of Object.entries(stage.def.outputs)) {
          const ref = result.outputs[name];
          if (!ref && stage.def.optionalOutputs && name in stage.def.optionalOutputs) continue;
          if (!ref || ref.kind !== kind) {
            await c.ban(worker, `its stage ${stage.id} has no ${kind} output "${name}"`);
            return new MalformedOutputs(`worker ${worker} sent no ${kind} output "${name}"`);
          }
          const bytes = await c.blobs.get(ref.digest);
          const inspected = inspectArtifact(kind as ArtifactKind, bytes);
          if (inspected.problem) {
            await c.ban(worker, `its output "${name}" of stage ${stage.id}: ${inspected.problem}`);
            return new MalformedOutputs(`worker ${worker} sent a malformed "${name}": ${inspected.problem}`);
          }
          finite &&= inspected.finite;
          outputs[name] = await ctx.writeArtifact(ref.kind, bytes, ref.meta);
        }
        return { outputs, worker, finite };
      } finally {
        await c.blobs
          .release(
            digests.filter((d): d is string => typeof d === 'string'),
            `job:${jobId}`,
          )
          .catch(() => undefined);
      }
    },
  });
}

function sameOutputs(a: Record<string, ArtifactRef>, b: Record<string, ArtifactRef>): boolean {
  const names = Object.keys(a);
  return names.length === Object.keys(b).length && names.every((n) => a[n].digest === b[n]?.digest);
}
