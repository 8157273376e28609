/**
 * `npm run cli -- jwks`: prints the public JWKS of the configured signing key(s), ready to host
 * or register with NHS. It reads the same settings as the proxy (ENVIRONMENT, SIGNING_KEY_ID,
 * PUBLISHED_KEY_IDS or LOCAL_KEY_FILE), so what it prints is what the proxy signs with.
 */
import { parseArgs } from 'node:util';
import { buildSigners, publishedJwks } from '../../lambda/proxy/app.js';
import { loadSigningOnlyConfig } from '../../lambda/proxy/config.js';
import type { Command } from '../cli.js';

const HELP = `Usage: npm run cli -- jwks [--env <name>]

Prints {"keys": [...]} for the signing key and every key kept published for rotation, read
from KMS (GetPublicKey; needs AWS credentials) or from the local key file.

  --env <name>   environment (default: $ENVIRONMENT, else local)
  --help         this text

Settings come from the environment, as for the proxy:
  SIGNING_KEY_ID, PUBLISHED_KEY_IDS   KMS keys (int, prod)
  LOCAL_KEY_FILE                      local key (local, internal-dev; default .local/signing-key.pem)
`;

/** The `jwks` command. */
export const jwksCommand: Command = {
  summary: 'print the public JWKS of the configured signing key(s) (KMS or local)',
  async run(argv, io) {
    let values: { env?: string; help?: boolean };
    try {
      ({ values } = parseArgs({
        args: [...argv],
        options: { env: { type: 'string' }, help: { type: 'boolean' } },
        strict: true,
      }));
    } catch (error) {
      io.err(`${error instanceof Error ? error.message : String(error)}\n\n${HELP}`);
      return 2;
    }
    if (values.help) {
      io.out(HELP);
      return 0;
    }
    try {
      const config = loadSigningOnlyConfig({
        ...process.env,
        ENVIRONMENT: values.env ?? process.env.ENVIRONMENT ?? 'local',
      });
      const { published } = await buildSigners(config, {});
      io.out(`${JSON.stringify({ keys: await publishedJwks(published)() }, null, 2)}\n`);
      return 0;
    } catch (error) {
      io.err(`${error instanceof Error ? error.message : String(error)}\n`);
      return 1;
    }
  },
};
