/**
 * A one-line progress bar on a TTY stream. Written by hand: twenty lines do, and the
 * libraries that exist pull in more than they add here.
 */
export interface ProgressBarOptions {
  readonly stream: NodeJS.WriteStream;
  readonly total: number;
  /** Shows nothing until this much time has passed (short runs stay quiet). @default 1000 */
  readonly delayMs?: number | undefined;
}

export class ProgressBar {
  readonly #stream: NodeJS.WriteStream;
  readonly #total: number;
  readonly #delayMs: number;
  readonly #started = performance.now();
  #shown = false;

  constructor(options: ProgressBarOptions) {
    this.#stream = options.stream;
    this.#total = Math.max(1, options.total);
    this.#delayMs = options.delayMs ?? 1000;
  }

  update(done: number, label: string): void {
    const elapsed = performance.now() - this.#started;
    if (elapsed < this.#delayMs) return;
    this.#shown = true;
    const width = 30;
    const filled = Math.round((done / this.#total) * width);
    const eta =
      done === 0 ? '' : ` eta ${Math.round(((this.#total - done) * elapsed) / done / 1000)}s`;
    this.#stream.write(
      `\r[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done}/${this.#total} ${label}${eta}\u001b[K`,
    );
  }

  done(): void {
    if (this.#shown) this.#stream.write('\r\u001b[K');
  }
}
