import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'dotenv';
import type { z } from 'zod';
import { describe, expect, it } from 'vitest';
import { renderValue } from '../../src/cli/config-check.js';
import { loadConfig } from '../../src/config/load-config.js';
import { envSchema } from '../../src/config/schema.js';
import { REPO } from './helpers/cli-process.js';

const text = readFileSync(path.join(REPO, '.env.example'), 'utf8');
/** `KEY=value` and `# KEY=value` lines: the documented variables. */
const entries = [...text.matchAll(/^(#\s?)?([A-Z][A-Z0-9_]*)=(.*)$/gm)].map((m) => ({ commented: Boolean(m[1]), key: m[2]!, value: m[3]! }));
const shape = envSchema.shape as Record<string, z.ZodType>;

describe('.env.example', () => {
  it('documents every variable of the schema, and nothing else, once each', () => {
    const documented = entries.map((e) => e.key);
    expect(new Set(documented).size).toBe(documented.length);
    const missing = Object.keys(shape).filter((k) => !documented.includes(k));
    const unknown = documented.filter((k) => !(k in shape));
    expect({ missing, unknown }).toEqual({ missing: [], unknown: [] });
  });

  it('gives each commented-out variable its real default', () => {
    for (const { key, value, commented } of entries) {
      if (!commented) continue;
      const parsed = shape[key]!.safeParse(undefined);
      expect(parsed.success, key).toBe(true);
      expect(value, key).toBe(renderValue(parsed.success ? parsed.data : undefined));
    }
  });

  it('explains each variable with a comment line above it', () => {
    const lines = text.split('\n');
    for (const { key } of entries) {
      const i = lines.findIndex((l) => new RegExp(`^(#\\s?)?${key}=`).test(l));
      expect(lines[i - 1], key).toMatch(/^# \S/);
    }
  });

  it('is a valid configuration as copied (`cp .env.example .env`), with no secret filled in', () => {
    const values = parse(text);
    for (const [key, value] of Object.entries(values)) expect(value, key).toBe('');
    expect(() => loadConfig(values)).not.toThrow();
  });
});
