import type { SerializedError } from '../core/errors.ts';
import type { RunEvent, StageStatus } from '../engine/events.ts';

export type StageViewStatus = 'pending' | 'queued' | 'running' | StageStatus;

export interface StageView {
  id: string;
  kind: string;
  status: StageViewStatus;
  startedAt?: number;
  durationMs?: number;
  reason?: string;
  because?: string;
  error?: SerializedError;
  progress?: { step: number; total?: number; label?: string; metrics?: Record<string, number> };
  /** First progress seen, to estimate a rate that excludes start-up time. */
  progressOrigin?: { step: number; time: number };
  lastProgressTime?: number;
}

export interface ViewState {
  runId?: string;
  pipeline?: string;
  runtime?: string;
  startedAt?: number;
  stages: StageView[];
  /** Warnings and info lines worth keeping on screen, in order. */
  logs: { stageId?: string; level: string; text: string }[];
  end?: { status: 'success' | 'failure' | 'interrupted'; counts: Record<StageStatus, number>; durationMs: number };
}

export const initialViewState = (): ViewState => ({ stages: [], logs: [] });

/** Pure: event in, new state out. All the UI's logic lives here so it can be tested without a terminal. */
export function reduceRunView(state: ViewState, event: RunEvent): ViewState {
  const patch = (id: string, f: (s: StageView) => StageView): ViewState => ({
    ...state,
    stages: state.stages.map((s) => (s.id === id ? f(s) : s)),
  });
  switch (event.type) {
    case 'run:start':
      return {
        ...state,
        runId: event.runId,
        pipeline: event.pipeline,
        runtime: event.runtime,
        startedAt: event.time,
        stages: event.stages.map((s) => ({ id: s.id, kind: s.kind, status: 'pending' })),
      };
    case 'stage:queued':
      return patch(event.stageId, (s) => ({ ...s, status: 'queued' }));
    case 'stage:cached':
      return patch(event.stageId, (s) => ({ ...s, status: 'cached' }));
    case 'stage:start':
      return patch(event.stageId, (s) => ({ ...s, status: 'running', startedAt: event.time, reason: event.reason }));
    case 'stage:progress':
      return patch(event.stageId, (s) => ({
        ...s,
        progress: {
          step: event.step,
          total: event.total,
          label: event.label,
          metrics: event.metrics ?? s.progress?.metrics,
        },
        progressOrigin: s.progressOrigin ?? { step: event.step, time: event.time },
        lastProgressTime: event.time,
      }));
    case 'stage:end':
      return patch(event.stageId, (s) => ({
        ...s,
        status: event.status,
        durationMs: event.durationMs,
        error: event.error,
      }));
    case 'stage:skipped':
      return patch(event.stageId, (s) => ({
        ...s,
        status: 'skipped',
        because: event.because
          ? `${event.reason === 'interrupted' ? 'interrupted' : 'upstream failed'}: ${event.because}`
          : event.reason,
      }));
    case 'stage:log':
      return event.level === 'debug'
        ? state
        : { ...state, logs: [...state.logs, { stageId: event.stageId, level: event.level, text: event.text }] };
    case 'run:end':
      return { ...state, end: { status: event.status, counts: event.counts, durationMs: event.durationMs } };
  }
}

/** Milliseconds left for a stage, from its progress rate since the first progress event. */
export function etaMs(stage: StageView, now: number): number | undefined {
  const p = stage.progress;
  const origin = stage.progressOrigin;
  if (!p || p.total === undefined || !origin || p.step <= origin.step) return undefined;
  const rate = (p.step - origin.step) / Math.max(1, now - origin.time);
  return Math.max(0, (p.total - p.step) / rate);
}

export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`;
  const s = ms / 1000;
  if (s < 60) return `${s.toFixed(1)}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${String(Math.round(s - m * 60)).padStart(2, '0')}s`;
  return `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`;
}

/** `acc 0.981 · asr 0.930`, with numbers shown to 3 significant places. */
export function formatMetrics(metrics?: Record<string, number>): string {
  if (!metrics) return '';
  return Object.entries(metrics)
    .map(([k, v]) => `${k} ${Number.isInteger(v) ? v : Math.abs(v) >= 100 ? v.toFixed(0) : v.toFixed(3)}`)
    .join(' · ');
}

export function summarizeCounts(counts: Record<StageStatus, number>): string {
  return `${counts.cached} cached · ${counts.success} ran · ${counts.failure} failed · ${counts.skipped} skipped`;
}
