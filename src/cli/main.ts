import { Command, CommanderError } from 'commander';
import { registerScanCommand } from './scan-command.js';
import { registerEvalCommand } from './eval-command.js';
import { registerModelsCommand } from './models-command.js';
import { registerWorkerCommand } from './worker-command.js';
import { registerStartCommand } from './start-command.js';
import { registerServeCommand } from './serve-command.js';
import { registerDiscordCommand } from './discord-command.js';
import { registerSlackCommand } from './slack-command.js';
import { registerKeysCommand } from './keys-command.js';
import { registerConfigCommand } from './config-command.js';
import { workerCommandDeps } from './wiring.js';
import { loadEnvFile } from './env-file.js';
import { GenguardError } from '../errors/genguard-error.js';

/** Builds the `genguard` program. Each command lives in its own `*-command.ts` file. */
export function buildProgram(): Command {
  const program = new Command('genguard')
    .description('Flags likely AI-generated images for Discord and Slack moderators')
    .version('0.1.0')
    .showHelpAfterError()
    .exitOverride();
  registerScanCommand(program);
  registerEvalCommand(program);
  registerModelsCommand(program);
  registerWorkerCommand(program, workerCommandDeps());
  registerStartCommand(program);
  registerServeCommand(program);
  registerDiscordCommand(program);
  registerSlackCommand(program);
  registerKeysCommand(program);
  registerConfigCommand(program);
  return program;
}

/** Returns the process exit code: non-zero only for usage errors and fatal start-up problems. */
export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    // The CLI edge: `.env` in the working directory fills in what the environment does not set.
    loadEnvFile();
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
