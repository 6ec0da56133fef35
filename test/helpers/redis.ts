// The real Redis and worker processes the cluster tests use (kept in bench/, which the cluster bench shares).
export * from '../../bench/redis-processes.ts';
