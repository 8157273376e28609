/**
 * Each function's asset is bundled from its own entry: the stack is synthesised with real esbuild
 * bundling (as `cdk synth` does), and each function's code asset is read back from the cloud
 * assembly through the S3 key its template names.
 */
import { spawnSync } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { App } from 'aws-cdk-lib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadDeployConfig, stackName } from '../../lib/config.js';
import { JWKS_ENTRY, TOKEN_ENTRY } from '../../lib/proxy-function.js';
import { TokenProxyStack } from '../../lib/token-proxy-stack.js';
import { cdkContext, logicalId } from './helpers.js';

describe('function bundles', () => {
  const outdir = mkdtempSync(path.join(tmpdir(), 'cis2-bundles-'));
  let stack: TokenProxyStack;
  let template: { Resources: Record<string, { Properties: { Code: { S3Key: string } } }> };

  beforeAll(() => {
    // Prepare: the int stack with bundling on (no `aws:cdk:bundling-stacks` override).
    const app = new App({ outdir, context: { ...cdkContext, env: 'int' } });
    const config = loadDeployConfig(app.node);
    stack = new TokenProxyStack(app, stackName(config), { config });

    // Act
    const assembly = app.synth();
    template = assembly.getStackByName(stack.stackName).template;
  });
  afterAll(() => rmSync(outdir, { recursive: true, force: true }));

  /** The bundled `index.mjs` of a function, found by the asset hash in its S3 key. */
  const bundleOf = (fn: TokenProxyStack['tokenFunction']) => {
    const key = template.Resources[logicalId(fn.function)]!.Properties.Code.S3Key;
    return path.join(outdir, `asset.${key.replace(/\.zip$/, '')}`, 'index.mjs');
  };

  it('the token and JWKS functions are built from their own entry modules', () => {
    expect(stack.tokenFunction.entry).toBe(TOKEN_ENTRY);
    expect(stack.publicJwks.handler.entry).toBe(JWKS_ENTRY);
    const token = readFileSync(bundleOf(stack.tokenFunction), 'utf8');
    const jwks = readFileSync(bundleOf(stack.publicJwks.handler), 'utf8');

    // Assess: the token bundle carries the exchange; the JWKS bundle only the key publishing.
    expect(token).toContain('token_request');
    expect(token).toContain('urn:ietf:params:oauth:grant-type:token-exchange');
    expect(jwks).toContain('jwks_unavailable');
    expect(jwks).not.toContain('token_request');
    expect(jwks).not.toContain('urn:ietf:params:oauth:grant-type:token-exchange');
    expect(jwks).not.toContain('_HANDLER');
  });

  /** Imports a bundle in a fresh Node process, as Lambda's init does, and sends it one GET. */
  const answer = (bundle: string, exported: string, path_: string) => {
    const keyFile = path.join(outdir, 'local-key.pem');
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    writeFileSync(keyFile, privateKey.export({ format: 'pem', type: 'pkcs8' }));
    const script = `const m = await import(${JSON.stringify(bundle)});
const r = await m.${exported}({ httpMethod: 'GET', path: '${path_}', headers: {}, body: null, isBase64Encoded: false });
console.log(JSON.stringify(r));`;
    const run = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
      env: {
        PATH: process.env.PATH,
        ENVIRONMENT: 'local',
        LOCAL_KEY_FILE: keyFile,
        API_KEY: 'test',
        CLIENT_SECRET: 'test',
        AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
      },
      encoding: 'utf8',
    });
    // The error lines alone: the line before them is a minified bundle line.
    expect(run.stderr.split('\n').filter((line) => /^\w*Error\b/.test(line))).toEqual([]);
    return JSON.parse(run.stdout.trim().split('\n').at(-1) ?? 'null');
  };

  it('each bundle starts in a fresh Node process and answers (no dynamic require left in the ESM bundle)', () => {
    // Act
    const health = answer(bundleOf(stack.tokenFunction), 'handler', '/health');
    const jwks = answer(bundleOf(stack.publicJwks.handler), 'jwksHandler', '/jwks.json');

    // Assess
    expect(health.statusCode).toBe(200);
    expect(jwks.statusCode).toBe(200);
    expect(JSON.parse(jwks.body).keys[0]).toMatchObject({ kty: 'RSA', alg: 'RS512' });
  });

  it('the JWKS bundle is smaller than the token bundle', () => {
    const tokenBytes = statSync(bundleOf(stack.tokenFunction)).size;
    const jwksBytes = statSync(bundleOf(stack.publicJwks.handler)).size;
    console.info(`bundle sizes: token ${tokenBytes} B, jwks ${jwksBytes} B`);
    expect(jwksBytes).toBeLessThan(tokenBytes);
  });
});
