import type { Command } from 'commander';
import { checkConfig, type ConfigReport } from './config-check.js';
import { envFileKeys } from './env-file.js';
import { onPath } from './private-redis.js';

export interface ConfigCommandDeps {
  print?: (line: string) => void;
  env?: NodeJS.ProcessEnv;
}

/** `genguard config check`: the effective configuration, secrets masked, and every problem found. */
export function registerConfigCommand(program: Command, deps: ConfigCommandDeps = {}): void {
  const print = deps.print ?? ((line: string) => console.log(line));
  const config = program.command('config').description('inspect the configuration');
  config
    .command('check')
    .description('print the effective configuration (secrets masked) and every problem found; exit 1 if there is one')
    .option('--json', 'one JSON document')
    .option('--offline', 'skip the Redis connection test')
    .action(async (opts: { json?: boolean; offline?: boolean }) => {
      const report = await checkConfig({
        env: deps.env ?? process.env,
        fromFile: envFileKeys,
        onPath: (binary) => onPath(binary),
        ...(opts.offline ? { offline: true } : {}),
      });
      if (opts.json) print(JSON.stringify(report, null, 2));
      else for (const line of formatReport(report)) print(line);
      if (report.problems.length > 0) process.exitCode = 1;
    });
}

export function formatReport(report: ConfigReport): string[] {
  const width = Math.max(...report.values.map((v) => v.key.length));
  const lines = ['Effective configuration (environment > .env > default):'];
  for (const { key, value, source } of report.values) {
    if (source === 'unset') continue;
    lines.push(`  ${key.padEnd(width)}  ${value === '' ? '""' : value}${source === 'default' ? '' : `   [${source}]`}`);
  }
  const unset = report.values.filter((v) => v.source === 'unset').map((v) => v.key);
  if (unset.length > 0) lines.push(`  not set: ${unset.join(', ')}`);
  lines.push('');
  for (const warning of report.warnings) lines.push(`warning: ${warning}`);
  if (report.problems.length === 0) {
    lines.push('No problems found.');
  } else {
    lines.push(`${report.problems.length} problem(s):`);
    for (const problem of report.problems) lines.push(`  ✗ ${problem}`);
  }
  return lines;
}
