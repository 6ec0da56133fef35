import { type Instance, render } from 'ink';
import type { Reporter, RunEvent } from '../engine/events.ts';
import { App } from './ink/App.tsx';
import { initialViewState, reduceRunView, type ViewState } from './run-view-state.ts';

/** Renders the run view with Ink; a timer keeps spinners and ETAs moving between events. */
export class InkReporter implements Reporter {
  private state: ViewState = initialViewState();
  private instance?: Instance;
  private timer?: NodeJS.Timeout;
  private readonly stdout: NodeJS.WriteStream;

  constructor(opts: { stdout?: NodeJS.WriteStream } = {}) {
    this.stdout = opts.stdout ?? process.stdout;
  }

  onEvent(event: RunEvent): void {
    this.state = reduceRunView(this.state, event);
    if (!this.instance) {
      this.instance = render(<App state={this.state} now={Date.now()} />, {
        stdout: this.stdout,
        exitOnCtrlC: false,
        patchConsole: true,
        maxFps: 10,
      });
      this.timer = setInterval(() => this.paint(), 200);
      this.timer.unref();
    } else {
      this.paint();
    }
  }

  private paint(): void {
    this.instance?.rerender(<App state={this.state} now={Date.now()} />);
  }

  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.paint();
    this.instance?.unmount();
    await this.instance?.waitUntilExit().catch(() => undefined);
  }
}
