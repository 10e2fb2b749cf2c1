import { pino, type Logger } from 'pino';
import type { RemoteLogger } from '../../src/detector/remote/remote-deps.js';

/**
 * Everything the code under test logs, as the text that would reach a log file: pino lines (at
 * trace level, so nothing is filtered out before it is checked) and the remote backends' logger.
 */
export class LogCapture {
  readonly lines: string[] = [];
  readonly logger: Logger;
  readonly remote: RemoteLogger;

  constructor() {
    const lines = this.lines;
    this.logger = pino({ level: 'trace' }, { write: (line: string) => void lines.push(line) });
    this.remote = {
      debug: (obj, msg) => lines.push(safeJson({ level: 'debug', ...obj, msg })),
      warn: (obj, msg) => lines.push(safeJson({ level: 'warn', ...obj, msg })),
    };
  }

  /** Also records console.* and direct stdout/stderr writes until the returned function is called. */
  captureConsole(): () => void {
    const lines = this.lines;
    const methods = ['log', 'info', 'warn', 'error', 'debug', 'trace'] as const;
    const saved = methods.map((m) => console[m]);
    for (const m of methods) {
      const original = console[m];
      console[m] = (...args: unknown[]) => {
        lines.push(args.map((a) => (typeof a === 'string' ? a : safeJson(a))).join(' '));
        original.apply(console, args);
      };
    }
    const writes = [process.stdout, process.stderr].map((stream) => {
      const original = stream.write.bind(stream);
      stream.write = ((chunk: unknown, ...rest: unknown[]) => {
        lines.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk as Uint8Array).toString());
        return (original as (...a: unknown[]) => boolean)(chunk, ...rest);
      }) as typeof stream.write;
      return () => {
        stream.write = original as typeof stream.write;
      };
    });
    return () => {
      methods.forEach((m, i) => (console[m] = saved[i]!));
      for (const restore of writes) restore();
    };
  }

  /** The secrets (or any fragment of 12+ characters of one) that occur in the captured text. */
  leaks(secrets: readonly string[]): string[] {
    const text = this.lines.join('\n');
    const found: string[] = [];
    for (const secret of secrets) {
      if (secret.length < 8) throw new Error(`"${secret}" is too short to search for`);
      const probes = [secret, ...fragments(secret, 12)];
      const hit = probes.find((p) => text.includes(p) || text.includes(JSON.stringify(p).slice(1, -1)));
      if (hit) found.push(`${secret.slice(0, 6)}… (matched "${hit.slice(0, 6)}…")`);
    }
    return found;
  }
}

/** Every run of `size` characters, so a secret cut in half or wrapped still shows up. */
function fragments(secret: string, size: number): string[] {
  if (secret.length <= size) return [];
  const out: string[] = [];
  for (let i = 0; i + size <= secret.length; i += 4) out.push(secret.slice(i, i + size));
  return out;
}

function safeJson(value: unknown): string {
  try {
    return JSON.stringify(value, (_k, v: unknown) => (v instanceof Error ? { message: v.message, stack: v.stack, cause: String((v as { cause?: unknown }).cause) } : v));
  } catch {
    return String(value);
  }
}
