/** A one-line progress bar on a TTY stream; silent when the stream is not a terminal (pipes, CI). */
export class ProgressBar {
  readonly #total: number;
  readonly #stream: NodeJS.WriteStream;
  readonly #enabled: boolean;
  #done = 0;

  constructor(total: number, stream: NodeJS.WriteStream) {
    this.#total = total;
    this.#stream = stream;
    this.#enabled = Boolean(stream.isTTY) && total > 0;
  }

  tick(label: string): void {
    this.#done++;
    if (!this.#enabled) return;
    const width = 30;
    const filled = Math.round((this.#done / this.#total) * width);
    const name = label.length > 40 ? `…${label.slice(-39)}` : label;
    this.#stream.write(`\r[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${this.#done}/${this.#total} ${name}\x1b[K`);
  }

  done(): void {
    if (this.#enabled) this.#stream.write('\r\x1b[K');
  }
}
