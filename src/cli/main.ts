import { Command, CommanderError } from 'commander';
import { loadEnvFile } from './env-file.js';
import { GenguardError } from '../errors/genguard-error.js';

type Register = (program: Command) => Promise<void>;

/**
 * Each command lives in its own `*-command.ts` file and is imported only when it runs: `scan`
 * should not pay for loading discord.js, Bolt and BullMQ (about a second on a small machine).
 */
const COMMANDS: Record<string, Register> = {
  scan: async (p) => (await import('./scan-command.js')).registerScanCommand(p),
  eval: async (p) => (await import('./eval-command.js')).registerEvalCommand(p),
  models: async (p) => (await import('./models-command.js')).registerModelsCommand(p),
  worker: async (p) => {
    const [{ registerWorkerCommand }, { workerCommandDeps }] = await Promise.all([
      import('./worker-command.js'),
      import('./wiring.js'),
    ]);
    registerWorkerCommand(p, workerCommandDeps());
  },
  start: async (p) => (await import('./start-command.js')).registerStartCommand(p),
  serve: async (p) => (await import('./serve-command.js')).registerServeCommand(p),
  discord: async (p) => (await import('./discord-command.js')).registerDiscordCommand(p),
  slack: async (p) => (await import('./slack-command.js')).registerSlackCommand(p),
  keys: async (p) => (await import('./keys-command.js')).registerKeysCommand(p),
  config: async (p) => (await import('./config-command.js')).registerConfigCommand(p),
};

export const COMMAND_NAMES = Object.keys(COMMANDS);

/**
 * Builds the `genguard` program. With `argv`, only the command it names is loaded (all of them
 * when it names none, e.g. for `--help`).
 */
export async function buildProgram(argv?: string[]): Promise<Command> {
  const program = new Command('genguard')
    .description('Flags likely AI-generated images for Discord and Slack moderators')
    .version('0.1.0')
    .showHelpAfterError()
    .exitOverride();
  const named = argv?.slice(2).find((a) => !a.startsWith('-'));
  const names = named !== undefined && named in COMMANDS ? [named] : COMMAND_NAMES;
  for (const name of names) await COMMANDS[name]!(program);
  return program;
}

/** Returns the process exit code: non-zero only for usage errors and fatal start-up problems. */
export async function main(argv: string[]): Promise<number> {
  try {
    // The CLI edge: `.env` in the working directory fills in what the environment does not set.
    loadEnvFile();
    const program = await buildProgram(argv);
    await program.parseAsync(argv);
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (error) {
    if (error instanceof CommanderError) {
      return error.exitCode === 0 ? 0 : 2;
    }
    if (error instanceof GenguardError) {
      console.error(`genguard: ${error.message}`);
      return error.code === 'usage' ? 2 : 1;
    }
    throw error;
  }
}
