/** A stage's place in the DAG: its id and the ids it needs. */
export interface GraphNode {
  id: string;
  deps: string[];
}

/**
 * Kahn's algorithm, breaking ties by declaration order so plans and logs are stable.
 * Returns the order, or a cycle (as a closed path of ids) when there is none.
 */
export function topologicalOrder(nodes: GraphNode[]): { order: string[] } | { cycle: string[] } {
  const indegree = new Map(nodes.map((n) => [n.id, 0]));
  const users = new Map<string, string[]>(nodes.map((n) => [n.id, []]));
  for (const n of nodes) {
    for (const d of new Set(n.deps)) {
      indegree.set(n.id, (indegree.get(n.id) ?? 0) + 1);
      users.get(d)?.push(n.id);
    }
  }
  const ready = nodes.filter((n) => indegree.get(n.id) === 0).map((n) => n.id);
  const order: string[] = [];
  while (ready.length) {
    const id = ready.shift()!;
    order.push(id);
    for (const u of users.get(id) ?? []) {
      const left = indegree.get(u)! - 1;
      indegree.set(u, left);
      if (left === 0) ready.push(u);
    }
  }
  if (order.length === nodes.length) return { order };
  return { cycle: findCycle(nodes.filter((n) => !order.includes(n.id))) };
}

function findCycle(nodes: GraphNode[]): string[] {
  const byId = new Map(nodes.map((n) => [n.id, n]));
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const visit = (id: string): string[] | undefined => {
    state.set(id, 'open');
    stack.push(id);
    for (const d of byId.get(id)?.deps ?? []) {
      if (!byId.has(d)) continue;
      if (state.get(d) === 'open') return [...stack.slice(stack.indexOf(d)), d];
      if (!state.has(d)) {
        const found = visit(d);
        if (found) return found;
      }
    }
    stack.pop();
    state.set(id, 'done');
    return undefined;
  };
  for (const n of nodes) {
    if (!state.has(n.id)) {
      const found = visit(n.id);
      if (found) return found.reverse();
    }
  }
  return nodes.map((n) => n.id);
}

/**
 * Which stages become ready as others settle. A stage is ready once every stage it needs has settled
 * successfully; one whose input failed (or was skipped) is doomed, to be skipped. A gathering stage (the report of
 * a matrix) is ready once all its inputs have settled in any way: it runs with the variants that succeeded.
 */
export class Readiness {
  private readonly waiting: Map<string, Set<string>>;
  private readonly doomed = new Set<string>();
  private readonly nodes: GraphNode[];
  private readonly gathers: ReadonlySet<string>;

  constructor(nodes: GraphNode[], gathers: ReadonlySet<string>) {
    this.nodes = nodes;
    this.gathers = gathers;
    this.waiting = new Map(nodes.map((n) => [n.id, new Set(n.deps)]));
  }

  /** The stages that need nothing. */
  initial(): string[] {
    return this.nodes.filter((n) => this.waiting.get(n.id)!.size === 0).map((n) => n.id);
  }

  /** Stage `id` has settled (`ok`: it succeeded or was cached): what is now ready, and what can no longer run. */
  settle(id: string, ok: boolean): { ready: string[]; doomed: string[] } {
    const ready: string[] = [];
    const doomed: string[] = [];
    for (const n of this.nodes) {
      const deps = this.waiting.get(n.id)!;
      if (!deps.delete(id) || this.doomed.has(n.id)) continue;
      if (!ok && !this.gathers.has(n.id)) {
        this.doomed.add(n.id);
        doomed.push(n.id);
      } else if (deps.size === 0) {
        ready.push(n.id);
      }
    }
    return { ready, doomed };
  }
}
