import { readFileSync } from 'node:fs';
import type { AnySchemaObject } from 'ajv';
import { buildSchemaSet, SCHEMA_DIR } from '../../src/config/schemas.ts';
import { defineStage, type StageContext, type StageRegistry } from '../../src/engine/stage.ts';

/**
 * Tiny real stages over numbers stored as "metrics" artifacts (decimal text), whose bodies are spies: tests count
 * calls,
 * make them fail or wait. They run through the real engine, store and schemas.
 */
const text = (n: number) => new TextEncoder().encode(String(n));
// biome-ignore lint/suspicious/noExplicitAny: fake stages of every params type
export const readNumber = async (ctx: StageContext<any>, name: string) =>
  Number(new TextDecoder().decode(await ctx.readArtifact(ctx.inputs[name])));

/** `spy` makes one call recorder per kind: vi.fn() in tests, a file appender in child processes. */
export function makeFakeRegistry<S extends (id: string) => void>(spy: () => S) {
  const calls = {
    source: spy(),
    mod: spy(),
    add: spy(),
    double: spy(),
    fail: spy(),
    slow: spy(),
    constant: spy(),
    picky: spy(),
    collect: spy(),
  };
  const registry = {
    source: defineStage<{ value: number }>()({
      kind: 'source',
      version: 1,
      summary: 'emits params.value',
      inputs: {},
      outputs: { out: 'metrics' },
      async run(ctx) {
        calls.source(ctx.stageId);
        return { out: await ctx.writeArtifact('metrics', text(ctx.params.value)) };
      },
    }),
    mod: defineStage<{ value: number; by: number }>()({
      kind: 'mod',
      version: 1,
      summary: 'emits value mod by (many params, same output)',
      inputs: {},
      outputs: { out: 'metrics' },
      async run(ctx) {
        calls.mod(ctx.stageId);
        return { out: await ctx.writeArtifact('metrics', text(ctx.params.value % ctx.params.by)) };
      },
    }),
    add: defineStage<{ offset: number }>()({
      kind: 'add',
      version: 1,
      summary: 'a + b + offset',
      inputs: { a: 'metrics', b: 'metrics' },
      outputs: { sum: 'metrics' },
      async run(ctx) {
        calls.add(ctx.stageId);
        return {
          sum: await ctx.writeArtifact(
            'metrics',
            text((await readNumber(ctx, 'a')) + (await readNumber(ctx, 'b')) + ctx.params.offset),
          ),
        };
      },
    }),
    double: defineStage<Record<string, never>>()({
      kind: 'double',
      version: 1,
      summary: '2x',
      inputs: { x: 'metrics' },
      outputs: { out: 'metrics' },
      async run(ctx) {
        calls.double(ctx.stageId);
        return { out: await ctx.writeArtifact('metrics', text(2 * (await readNumber(ctx, 'x')))) };
      },
    }),
    fail: defineStage<{ message: string }>()({
      kind: 'fail',
      version: 1,
      summary: 'always fails',
      inputs: { x: 'metrics' },
      outputs: { out: 'metrics' },
      async run(ctx) {
        calls.fail(ctx.stageId);
        throw new Error(ctx.params.message);
      },
    }),
    slow: defineStage<{ ms: number; steps: number }>()({
      kind: 'slow',
      version: 1,
      summary: 'reports progress while waiting; writes a blob halfway',
      inputs: { x: 'metrics' },
      outputs: { out: 'metrics' },
      async run(ctx) {
        calls.slow(ctx.stageId);
        const x = await readNumber(ctx, 'x');
        for (let step = 1; step <= ctx.params.steps; step++) {
          if (ctx.signal.aborted) throw new Error('aborted');
          // An orphan blob, as a killed stage leaves.
          if (step === Math.ceil(ctx.params.steps / 2)) await ctx.writeArtifact('metrics', text(-x));
          await new Promise((r) => setTimeout(r, ctx.params.ms / ctx.params.steps));
          ctx.progress({ step, total: ctx.params.steps, label: 'step', metrics: { x } });
        }
        return { out: await ctx.writeArtifact('metrics', text(x + 1)) };
      },
    }),
    constant: defineStage<{ value: number }>()({
      kind: 'constant',
      version: 1,
      summary: 'emits params.value; draws no random numbers, so its key leaves out the seed',
      inputs: {},
      outputs: { out: 'metrics' },
      seeded: () => false,
      async run(ctx) {
        calls.constant(ctx.stageId);
        return { out: await ctx.writeArtifact('metrics', text(ctx.params.value)) };
      },
    }),
    picky: defineStage<{ refuse: number }>()({
      kind: 'picky',
      version: 1,
      summary: 'passes x on, but fails when x equals params.refuse',
      inputs: { x: 'metrics' },
      outputs: { out: 'metrics' },
      async run(ctx) {
        calls.picky(ctx.stageId);
        const x = await readNumber(ctx, 'x');
        if (x === ctx.params.refuse) throw new Error(`refusing ${x}`);
        return { out: await ctx.writeArtifact('metrics', text(x)) };
      },
    }),
    collect: defineStage<Record<string, never>>()({
      kind: 'collect',
      version: 1,
      summary: 'gathers x from every variant: emits "<variant id>=<x>;..."',
      inputs: { x: 'metrics' },
      outputs: { out: 'metrics' },
      gather: true,
      seeded: () => false,
      async run(ctx) {
        calls.collect(ctx.stageId);
        const parts = [];
        for (const v of ctx.variants!)
          parts.push(`${v.id}=${new TextDecoder().decode(await ctx.readArtifact(v.inputs.x))}`);
        return { out: await ctx.writeArtifact('metrics', new TextEncoder().encode(parts.join(';'))) };
      },
    }),
  } satisfies StageRegistry;
  return { registry, calls };
}

const num = (extra: AnySchemaObject = {}) => ({ type: 'number', default: 0, description: 'a number', ...extra });

export const fakeStageSchemas: Record<string, AnySchemaObject> = {
  source: { type: 'object', additionalProperties: false, properties: { value: num() } },
  mod: {
    type: 'object',
    additionalProperties: false,
    properties: { value: num(), by: num({ default: 10, exclusiveMinimum: 0 }) },
  },
  add: { type: 'object', additionalProperties: false, properties: { offset: num() } },
  double: { type: 'object', additionalProperties: false, properties: {} },
  fail: {
    type: 'object',
    additionalProperties: false,
    properties: { message: { type: 'string', default: 'boom', description: 'the error' } },
  },
  constant: { type: 'object', additionalProperties: false, properties: { value: num() } },
  picky: { type: 'object', additionalProperties: false, properties: { refuse: num({ default: -1 }) } },
  collect: { type: 'object', additionalProperties: false, properties: {} },
  slow: {
    type: 'object',
    additionalProperties: false,
    properties: { ms: num({ default: 200 }), steps: num({ default: 4, minimum: 1 }) },
  },
};

export function fakeSchemas() {
  const pipelineSchema = JSON.parse(readFileSync(`${SCHEMA_DIR}/pipeline.schema.json`, 'utf8'));
  return buildSchemaSet(pipelineSchema, fakeStageSchemas);
}
