import { DataError } from '../src/core/errors.ts';
import { defineStage } from '../src/engine/stage.ts';
import type { UnlearnParams } from '../src/generated/stage-params.ts';
import { type UnlearnSettings, unlearnClassifier } from '../src/ml/fedau/unlearn-op.ts';

export default defineStage<UnlearnParams>()({
  kind: 'unlearn',
  version: 1,
  summary: "Forget the unlearning clients' data: a linear operation on the federation's last layer (no retraining).",
  inputs: { federation: 'federation' },
  // It reads only artifacts and params: `fedau run --redis` may run it on a worker.
  remote: true,
  outputs: { model: 'model' },
  seeded: () => false,
  async run(ctx, { federation: f }) {
    const t0 = performance.now();
    const h = f.header;
    if (h.mode === 'none' || h.unlearningClients.length === 0) {
      throw new DataError('this federation has no unlearning clients, so there is nothing to forget', {
        hint: 'set a partition mode (samples, class or client) with unlearningClients ≥ 1',
      });
    }
    const clients = ctx.params.clients.length ? ctx.params.clients : h.unlearningClients;
    const unknown = clients.filter((k) => !h.unlearningClients.includes(k));
    if (unknown.length) {
      throw new DataError(`clients [${unknown.join(', ')}] are not unlearning clients of this federation`, {
        path: `stages.${ctx.stageId}.with.clients`,
        expected: `a subset of [${h.unlearningClients.join(', ')}]`,
        got: `[${clients.join(', ')}]`,
        hint: 'only clients that trained an auxiliary head can be forgotten',
      });
    }
    const specIndex = (name: string) => h.specs.findIndex((s) => s.name === name);
    const wi = specIndex('classifier.weight');
    const bi = specIndex('classifier.bias');
    const settings: UnlearnSettings = {
      mode: h.mode,
      alpha: ctx.params.alpha,
      rule: ctx.params.rule,
      classScale: ctx.params.classScale,
    };
    const head = unlearnClassifier(
      { weight: f.weights[wi], bias: f.weights[bi] },
      clients.map((k) => f.heads.get(k)!),
      settings,
    );
    const weights = f.weights.slice();
    weights[wi] = head.weight;
    weights[bi] = head.bias;
    const { rounds: _r, clients: _c, mode: _m, unlearningClients: _u, backend: _b, ...model } = h;
    const unlearned = { clients, alpha: settings.alpha, rule: settings.rule, classScale: settings.classScale };
    ctx.progress({ step: 1, total: 1, label: `forgot clients ${clients.join(', ')}` });
    return {
      model: {
        value: { header: { ...model, unlearned }, weights },
        meta: { seconds: (performance.now() - t0) / 1000, clients: clients.join(',') },
      },
    };
  },
});
