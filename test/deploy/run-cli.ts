/**
 * The `genguard` CLI from source, for tests that run it as a child process:
 * `node --import <tsx> test/deploy/run-cli.ts <command> …` (bin/genguard.js needs a build).
 */
import { main } from '../../src/cli/main.js';

process.exitCode = await main(process.argv);
