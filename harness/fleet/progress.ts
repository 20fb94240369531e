/**
 * The fleet run's progress bar on stderr: commands done, rate and ETA (cli-progress). On a terminal it redraws
 * in place; elsewhere (CI logs) it prints a line every few seconds.
 */
import { SingleBar } from 'cli-progress';
import type { FleetProgress } from './run.ts';

export class FleetProgressBar {
  private bar: SingleBar | null = null;

  /** `now` is the clock FleetProgress.startedAt is read on (performance.now() in the coordinator's thread). */
  constructor(
    private readonly stream: NodeJS.WritableStream = process.stderr,
    private readonly now: () => number = () => performance.now(),
  ) {}

  update(p: FleetProgress): void {
    if (!this.bar) {
      this.bar = new SingleBar({
        stream: this.stream,
        format: 'SoLR event |{bar}| {percentage}% | {value}/{total} commands | {rate}/s | {executed} switched, {refused} refused | ETA {eta_formatted}',
        hideCursor: true,
        barsize: 30,
        etaBuffer: 50,
        noTTYOutput: true,
        notTTYSchedule: 5000,
      });
      this.bar.start(p.total, 0, { rate: '0', executed: 0, refused: 0 });
    }
    // Since the event started, not since this first update: the first batch's time counts too.
    const seconds = (this.now() - p.startedAt) / 1000;
    this.bar.update(p.done, { rate: seconds > 0 ? (p.done / seconds).toFixed(0) : '0', executed: p.executed, refused: p.refused });
  }

  stop(): void {
    this.bar?.stop();
    this.bar = null;
  }
}
