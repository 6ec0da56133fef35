import { type Instance, render } from 'ink';
import { Component, type ComponentType, type ReactNode } from 'react';
import type { Reporter, RunEvent } from '../engine/events.ts';
import { App } from './ink/App.tsx';
import { initialViewState, reduceRunView, type ViewState } from './run-view-state.ts';

/**
 * Keeps a rendering error inside the reporter: Ink would otherwise draw its own error box and stop drawing, and
 * the run would go on with nothing on the terminal. The reporter rethrows the error to the event hub, which
 * says so and carries on with the plain reporter.
 */
class ViewErrorBoundary extends Component<
  { onError: (error: Error) => void; children: ReactNode },
  { failed: boolean }
> {
  override state = { failed: false };
  static getDerivedStateFromError() {
    return { failed: true };
  }
  override componentDidCatch(error: Error) {
    this.props.onError(error);
  }
  override render() {
    return this.state.failed ? null : this.props.children;
  }
}

export type RunView = ComponentType<{ state: ViewState; now: number }>;

/** Renders the run view with Ink; a timer keeps spinners and ETAs moving between events. */
export class InkReporter implements Reporter {
  private state: ViewState = initialViewState();
  private instance?: Instance;
  private timer?: NodeJS.Timeout;
  private error?: Error;
  private readonly stdout: NodeJS.WriteStream;
  private readonly View: RunView;
  private readonly patchConsole: boolean;

  /**
   * `patchConsole`: keep stray console output above the view (default); tests whose console is not Node's turn it
   * off.
   */
  constructor(opts: { stdout?: NodeJS.WriteStream; view?: RunView; patchConsole?: boolean } = {}) {
    this.stdout = opts.stdout ?? process.stdout;
    this.View = opts.view ?? App;
    this.patchConsole = opts.patchConsole ?? true;
  }

  onEvent(event: RunEvent): void {
    this.state = reduceRunView(this.state, event);
    if (!this.instance) {
      this.instance = render(this.frame(), {
        stdout: this.stdout,
        exitOnCtrlC: false,
        patchConsole: this.patchConsole,
        maxFps: 10,
      });
      this.timer = setInterval(() => this.paint(), 200);
      this.timer.unref();
    } else {
      this.paint();
    }
    this.throwIfFailed();
  }

  private frame() {
    const { View } = this;
    return (
      <ViewErrorBoundary onError={this.recordError}>
        <View state={this.state} now={Date.now()} />
      </ViewErrorBoundary>
    );
  }

  private readonly recordError = (error: Error): void => {
    this.error ??= error;
  };

  private paint(): void {
    if (!this.error) this.instance?.rerender(this.frame());
  }

  private throwIfFailed(): void {
    if (!this.error) return;
    this.stop();
    throw this.error;
  }

  private stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.instance?.unmount();
    this.instance = undefined;
  }

  async close(): Promise<void> {
    const instance = this.instance;
    this.paint();
    this.stop();
    await instance?.waitUntilExit().catch(() => undefined);
    if (this.error) throw this.error;
  }
}
