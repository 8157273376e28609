/**
 * docs/configuration.md must name every environment variable the runtime reads. The names are
 * found by running lambda/proxy/config.ts on environments that record each read, so a setting
 * added to the code without a line in the page fails here.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { loadRuntimeConfig } from '../../lambda/proxy/config.js';

/** The names `loadRuntimeConfig` reads from `env` (values as given, the rest unset). */
function namesRead(env: Record<string, string>): Set<string> {
  const read = new Set<string>();
  const recording = new Proxy(env, {
    get(target, name) {
      if (typeof name === 'string') read.add(name);
      return Reflect.get(target, name);
    },
  });
  loadRuntimeConfig(recording);
  return read;
}

/** The variables in the first column of the page's tables, e.g. `` `API_KEY`, `CLIENT_SECRET` ``. */
function documentedNames(): Set<string> {
  const page = readFileSync(new URL('../../docs/configuration.md', import.meta.url), 'utf8');
  const firstCells = page
    .split('\n')
    .filter((line) => line.startsWith('| `'))
    .map((line) => line.split('|')[1] ?? '');
  return new Set(
    firstCells.flatMap((cell) => [...cell.matchAll(/`([A-Z0-9_]+)`/g)].map((m) => m[1] as string)),
  );
}

describe('docs/configuration.md', () => {
  it('names every variable lambda/proxy/config.ts reads, on each path through it', () => {
    // Prepare: a local key with static credentials, and KMS keys with a secret.
    const read = new Set([
      ...namesRead({ ENVIRONMENT: 'local', API_KEY: 'k', CLIENT_SECRET: 's' }),
      ...namesRead({ ENVIRONMENT: 'int', SIGNING_KEY_ID: 'key-1', SECRET_ID: 'secret-1' }),
    ]);

    // Act
    const documented = documentedNames();

    // Assess
    expect(read.size).toBeGreaterThan(20);
    expect([...read].filter((name) => !documented.has(name)).sort()).toEqual([]);
  });
});
