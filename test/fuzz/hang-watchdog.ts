import { Worker } from 'node:worker_threads';

/**
 * A hang in native code leaves the event loop free, so a timer catches it; a hang in JavaScript
 * (a parser looping forever) blocks the event loop and every timer with it, the test's own
 * timeout included. This watchdog runs on its own thread: when the case it was told about has not
 * finished after `timeoutMs`, it names the case on stderr and kills the process (SIGKILL).
 */
export class HangWatchdog {
  readonly #worker: Worker;
  readonly #progress: Int32Array;

  constructor(timeoutMs: number) {
    this.#progress = new Int32Array(new SharedArrayBuffer(4));
    this.#worker = new Worker(
      `const { parentPort, workerData } = require('node:worker_threads');
       const progress = workerData.progress;
       let current = { index: -1, name: '' };
       let seen = 0, since = Date.now();
       parentPort.on('message', (m) => { current = m; });
       setInterval(() => {
         const now = Atomics.load(progress, 0);
         if (now !== seen) { seen = now; since = Date.now(); return; }
         if (current.index >= 0 && Date.now() - since > workerData.timeoutMs) {
           require('node:fs').writeSync(2, 'HANG: fuzz case #' + current.index + ' (' + current.name + ') has not finished after ' + workerData.timeoutMs + ' ms (the event loop is blocked)\\n');
           // process.exit in a worker ends only the worker; the blocked main thread needs a signal
           // it cannot defer.
           process.kill(process.pid, 'SIGKILL');
         }
       }, 500);`,
      { eval: true, workerData: { progress: this.#progress, timeoutMs } },
    );
    this.#worker.unref();
  }

  /** Called before each case. */
  starting(index: number, name: string): void {
    this.#worker.postMessage({ index, name });
    Atomics.add(this.#progress, 0, 1);
  }

  /** Called after each case. */
  finished(): void {
    Atomics.add(this.#progress, 0, 1);
  }

  async stop(): Promise<void> {
    await this.#worker.terminate();
  }
}
