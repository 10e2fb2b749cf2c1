import type { Command } from 'commander';
import { runAdapterProcess } from './adapter-process.js';

/** `genguard slack`: the Slack adapter alone (Socket Mode or HTTP); `genguard worker` posts the answers. */
export function registerSlackCommand(program: Command, deps: { stop?: () => Promise<unknown> } = {}): void {
  program
    .command('slack')
    .description('run the Slack adapter (Socket Mode or Events API); workers do the detection')
    .action(() => runAdapterProcess({ discord: false, slack: true }, deps.stop));
}
