import type { Command } from 'commander';
import { runAdapterProcess } from './adapter-process.js';

/** `genguard discord`: the Discord adapter alone (gateway + commands); `genguard worker` posts the answers. */
export function registerDiscordCommand(program: Command, deps: { stop?: () => Promise<unknown> } = {}): void {
  program
    .command('discord')
    .description('run the Discord adapter: watches channels, answers /aicheck; workers do the detection')
    .action(() => runAdapterProcess({ discord: true, slack: false }, deps.stop));
}
