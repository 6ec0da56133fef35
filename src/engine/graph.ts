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

/** Every stage that depends on `id`, directly or not. */
export function transitiveDependents(nodes: GraphNode[], id: string): string[] {
  const out = new Set<string>();
  const visit = (target: string) => {
    for (const n of nodes) {
      if (n.deps.includes(target) && !out.has(n.id)) {
        out.add(n.id);
        visit(n.id);
      }
    }
  };
  visit(id);
  return nodes.map((n) => n.id).filter((n) => out.has(n));
}
