import { readFileSync } from 'node:fs';
import path from 'node:path';
import { PermissionFlagsBits } from 'discord.js';
import { describe, expect, it } from 'vitest';
import { buildProgram } from '../../src/cli/main.js';
import { envSchema } from '../../src/config/schema.js';
import { API_ROUTES } from '../../src/server/api-server.js';
import { REPO } from './helpers/cli-process.js';

const doc = readFileSync(path.join(REPO, 'docs/operating.md'), 'utf8');

describe('docs/operating.md', () => {
  it('names only variables that exist', () => {
    const named = new Set([...doc.matchAll(/\b((?:GENGUARD|DISCORD|SLACK|BITMIND|BIJOU|REDIS)_[A-Z0-9_]+|LOG_LEVEL)\b/g)].map((m) => m[1]!));
    const unknown = [...named].filter((k) => !(k in envSchema.shape));
    expect(unknown).toEqual([]);
  });

  it('names only genguard commands that exist', async () => {
    const program = await buildProgram();
    const names = new Set(program.commands.map((c) => c.name()));
    for (const m of doc.matchAll(/`genguard ([a-z]+)/g)) expect(names, m[0]).toContain(m[1]);
  });

  it('gives an invite URL with exactly the Discord permissions it lists', () => {
    const listed = ['ViewChannel', 'SendMessages', 'SendMessagesInThreads', 'EmbedLinks', 'ReadMessageHistory', 'AddReactions', 'ManageMessages'] as const;
    const expected = listed.reduce((bits, name) => bits | PermissionFlagsBits[name], 0n);
    const inUrl = /permissions=(\d+)/.exec(doc)?.[1];
    expect(inUrl).toBe(expected.toString());
    expect(doc).toContain('scope=bot%20applications.commands');
  });

  it('documents every API route', () => {
    for (const route of API_ROUTES) expect(doc, route.path).toContain(`${route.method} ${route.path}`);
  });
});
