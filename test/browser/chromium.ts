/**
 * Headless Chromium for the browser tests and the page benchmark: Debian's `chromium` package
 * driven by playwright-core, which never downloads a browser. Flags keep Chromium off the
 * network on its own account (no component updates, sync, QUIC or background requests), so the
 * only requests made are the page's.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type BrowserContext, chromium } from 'playwright-core';

/** Where Debian's package installs Chromium; `CHROMIUM_PATH` overrides it. */
export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

const ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/**
 * Set to `1` to skip the browser tests on a machine without Chromium. Ignored under CI, which
 * must run them: there a missing Chromium fails the run.
 */
export const SKIP_FLAG = 'SKIP_BROWSER_TESTS';

/** Why the browser tests are skipped, or `undefined` when they must run (and fail if they cannot). */
export function browserSkipReason(): string | undefined {
  if (process.env[SKIP_FLAG] !== '1' || process.env.CI) return undefined;
  return `${SKIP_FLAG}=1: browser tests skipped; they need ${CHROMIUM_PATH} (apt-get install -y chromium)`;
}

/** A running headless Chromium with a fresh profile, removed on close. */
export interface Chromium {
  readonly context: BrowserContext;
  close(): Promise<void>;
}

/** Launches headless Chromium with a fresh `--user-data-dir`; fails loudly when it is not installed. */
export async function launchChromium(): Promise<Chromium> {
  if (!existsSync(CHROMIUM_PATH))
    throw new Error(
      `Chromium is not installed at ${CHROMIUM_PATH}: run "apt-get install -y --no-install-recommends chromium" ` +
        `(or set CHROMIUM_PATH, or ${SKIP_FLAG}=1 outside CI to skip the browser tests).`,
    );
  const profile = await mkdtemp(join(tmpdir(), 'doctor-chromium-'));
  // Playwright passes the profile as --user-data-dir; launch() would not take one.
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: ARGS,
  });
  return {
    context,
    close: async () => {
      await context.close();
      await rm(profile, { recursive: true, force: true });
    },
  };
}
