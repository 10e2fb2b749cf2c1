import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

export const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const TSX = pathToFileURL(path.join(REPO, 'node_modules/tsx/dist/loader.mjs')).href;
const CLI = path.join(REPO, 'test/deploy/run-cli.ts');

export interface CliOptions {
  cwd: string;
  /** The child's whole environment (nothing is inherited unless passed). */
  env: NodeJS.ProcessEnv;
}

/** The environment a child starts from: PATH and HOME only, so the developer's own settings cannot leak in. */
export function baseEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return { PATH: process.env['PATH'] ?? '/usr/bin:/bin', HOME: process.env['HOME'] ?? '/tmp', ...extra };
}

/** A running `genguard …` child; stdout and stderr are collected line by line. */
export class CliProcess {
  readonly child: ChildProcess;
  readonly lines: string[] = [];
  readonly exited: Promise<number | null>;

  constructor(args: string[], options: CliOptions) {
    this.child = spawn(process.execPath, ['--import', TSX, CLI, ...args], { cwd: options.cwd, env: options.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let partial = '';
    const collect = (chunk: Buffer) => {
      partial += chunk.toString();
      const parts = partial.split('\n');
      partial = parts.pop() ?? '';
      this.lines.push(...parts.filter(Boolean));
    };
    this.child.stdout!.on('data', collect);
    this.child.stderr!.on('data', collect);
    this.exited = new Promise((resolve) => this.child.once('close', (code) => resolve(code)));
  }

  /** Parsed JSON log lines (pino); other lines are skipped. */
  logs(): Array<Record<string, unknown>> {
    return this.lines.flatMap((line) => {
      try {
        const parsed = JSON.parse(line) as unknown;
        return parsed && typeof parsed === 'object' ? [parsed as Record<string, unknown>] : [];
      } catch {
        return [];
      }
    });
  }

  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> {
    if (this.child.exitCode === null) this.child.kill(signal);
    return this.exited;
  }
}

/** Runs a short command to completion. */
export async function runCli(args: string[], options: CliOptions): Promise<{ code: number | null; lines: string[] }> {
  const p = new CliProcess(args, options);
  const code = await p.exited;
  return { code, lines: p.lines };
}
