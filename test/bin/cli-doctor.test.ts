import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CommandIo, runCli } from '../../bin/cli.js';
import { PLATFORM_ERRORS } from '../../lambda/platform/rules.js';
import {
  API_KEY,
  editSignature,
  jwksOf,
  makeKey,
  NOW_S,
  signAssertion,
  signUntil,
  type TestKey,
} from '../lambda/doctor/fixtures.js';

const AT = '2026-11-28T10:00:00Z';

interface Run {
  code: number;
  out: string;
  err: string;
}

async function cli(argv: string[], stdin?: string): Promise<Run> {
  let out = '';
  let err = '';
  const io: CommandIo = {
    out: (text) => {
      out += text;
    },
    err: (text) => {
      err += text;
    },
    readStdin: async () => stdin,
  };
  const code = await runCli(argv, io);
  return { code, out, err };
}

let key: TestKey;
let dir: string;
let jwksFile: string;
let good: string;
let damaged: string;
let original: string;
let server: Server;
let jwksUrl: string;

beforeAll(async () => {
  key = await makeKey('proxy-key-1');
  dir = mkdtempSync(join(tmpdir(), 'doctor-cli-'));
  jwksFile = join(dir, 'jwks.json');
  writeFileSync(jwksFile, JSON.stringify(jwksOf(key)));
  good = await signAssertion(key);
  original = await signUntil(key, (s) => s.includes('--'));
  damaged = editSignature(original, original.split('.')[2]!.indexOf('--'), 2, '\u2013');
  server = createServer((req, res) => {
    if (req.url === '/jwks.json')
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(jwksOf(key)));
    else res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  jwksUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/jwks.json`;
});

afterAll(async () => {
  rmSync(dir, { recursive: true, force: true });
  await new Promise((resolve) => server.close(resolve));
});

describe('cli dispatcher', () => {
  it('lists the commands with --help', async () => {
    const r = await cli(['--help']);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^Usage: npm run cli -- <command>/);
    expect(r.out).toMatch(/^ {2}doctor {2}diagnose/m);
  });

  it('exits 2 for a missing or unknown command', async () => {
    expect(await cli([])).toMatchObject({ code: 2, err: expect.stringContaining('No command given.') });
    expect(await cli(['nope'])).toMatchObject({
      code: 2,
      err: expect.stringContaining('Unknown command "nope"'),
    });
  });
});

describe('doctor command', () => {
  it('prints its options with --help', async () => {
    const r = await cli(['doctor', '--help']);
    expect(r.code).toBe(0);
    for (const option of [
      '--assertion',
      '--assertion-file',
      '--jwks-file',
      '--jwks-url',
      '--env',
      '--token-url',
      '--api-key',
      '--at',
      '--json',
      '--print-repaired',
    ])
      expect(r.out).toContain(option);
  });

  it('exits 0 with the verdict on top for an assertion the platform accepts', async () => {
    const r = await cli([
      'doctor',
      '--assertion',
      good,
      '--jwks-file',
      jwksFile,
      '--env',
      'int',
      '--api-key',
      API_KEY,
      '--at',
      AT,
    ]);
    expect(r.code).toBe(0);
    expect(r.out.split('\n')[0]).toBe('ACCEPT: the platform would accept this assertion');
  });

  it('exits 1 and lists errors first for a mangled assertion', async () => {
    const r = await cli([
      'doctor',
      '--assertion',
      damaged,
      '--jwks-file',
      jwksFile,
      '--env',
      'int',
      '--at',
      AT,
    ]);
    expect(r.code).toBe(1);
    const lines = r.out.split('\n');
    expect(lines[0]).toBe(
      'REJECT: the platform would answer 400 invalid_request: Malformed JWT in client_assertion',
    );
    const severities = lines.filter((l) => /^(error|warning|info) /.test(l)).map((l) => l.split(' ')[0]);
    expect(severities[0]).toBe('error');
    expect(severities).toEqual(
      [...severities].sort(
        (a, b) => ['error', 'warning', 'info'].indexOf(a!) - ['error', 'warning', 'info'].indexOf(b!),
      ),
    );
    expect(r.out).toContain('Repair (verified with kid "proxy-key-1", 1 change(s)):');
    expect(r.out).not.toContain(original.split('.')[2]);
  });

  it('prints {"verdict","predicted","findings","repair"} with --json, the repaired assertion only on request', async () => {
    const r = await cli([
      'doctor',
      '--assertion',
      damaged,
      '--jwks-file',
      jwksFile,
      '--env',
      'int',
      '--at',
      AT,
      '--json',
    ]);
    expect(r.code).toBe(1);
    const json = JSON.parse(r.out);
    expect(Object.keys(json)).toEqual(['verdict', 'predicted', 'findings', 'repair']);
    expect(json.verdict).toBe('reject');
    expect(json.predicted).toEqual({ ...PLATFORM_ERRORS.clientAssertionMalformed });
    expect(json.findings[0]).toMatchObject({
      code: 'CHAR_TYPOGRAPHIC_DASH',
      severity: 'error',
      segment: 'signature',
      codePoint: 'U+2013',
    });
    expect(json.repair).toEqual({
      changes: [expect.objectContaining({ codePoint: 'U+2013', to: '--' })],
      signatureVerified: true,
      kid: key.kid,
    });
    expect(r.out).not.toContain(original.split('.')[2]);

    const shown = await cli([
      'doctor',
      '--assertion',
      damaged,
      '--jwks-file',
      jwksFile,
      '--at',
      AT,
      '--json',
      '--print-repaired',
    ]);
    expect(JSON.parse(shown.out).repair.assertion).toBe(original);
    const text = await cli([
      'doctor',
      '--assertion',
      damaged,
      '--jwks-file',
      jwksFile,
      '--at',
      AT,
      '--print-repaired',
    ]);
    expect(text.out).toContain(`Repaired assertion:\n${original}`);
  });

  it('reads the assertion from a file or standard input, tolerating what people paste', async () => {
    const file = join(dir, 'assertion.txt');
    writeFileSync(file, ` "Bearer ${good}"\n`);
    const fromFile = await cli(['doctor', '--assertion-file', file, '--env', 'int', '--at', AT, '--json']);
    expect(fromFile.code).toBe(0);
    expect(JSON.parse(fromFile.out).findings.map((f: { code: string }) => f.code)).toEqual([
      'INPUT_WHITESPACE',
      'INPUT_QUOTES',
      'INPUT_BEARER_PREFIX',
      'SIGNATURE_NOT_CHECKED',
    ]);
    const fromStdin = await cli(['doctor', '--env', 'int', '--at', AT], `client_assertion=${good}`);
    expect(fromStdin.code).toBe(0);
    expect(fromStdin.out.split('\n')[0]).toMatch(/^ACCEPT \(as far as checked\)/);
  });

  it('judges time claims at --at', async () => {
    const expiring = await signAssertion(key, { claims: { exp: NOW_S + 60 } });
    expect((await cli(['doctor', '--assertion', expiring, '--at', AT])).code).toBe(0);
    const later = await cli(['doctor', '--assertion', expiring, '--at', '2026-11-28T10:01:01Z', '--json']);
    expect(later.code).toBe(1);
    expect(JSON.parse(later.out).predicted).toEqual({ ...PLATFORM_ERRORS.assertionExpired });
  });

  it('targets the token URL of --env or --token-url', async () => {
    const r = await cli(['doctor', '--assertion', good, '--env', 'prod', '--at', AT, '--json']);
    expect(JSON.parse(r.out).findings).toContainEqual(
      expect.objectContaining({ code: 'AUD_OTHER_ENVIRONMENT', environment: 'int' }),
    );
    const url = await cli([
      'doctor',
      '--assertion',
      good,
      '--token-url',
      'https://int.api.service.nhs.uk/oauth2-mock/token',
      '--at',
      AT,
    ]);
    expect(url.code).toBe(1);
  });

  it('fetches the JWKS from --jwks-url', async () => {
    const r = await cli([
      'doctor',
      '--assertion',
      good,
      '--jwks-url',
      jwksUrl,
      '--env',
      'int',
      '--at',
      AT,
      '--json',
    ]);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.out).findings).toContainEqual(
      expect.objectContaining({ code: 'SIGNATURE_VERIFIED', kid: key.kid }),
    );
  });

  it.each([
    ['no assertion', [], 'No assertion given'],
    [
      'an unreadable assertion file',
      ['--assertion-file', '/nonexistent/a.txt'],
      'Cannot read the assertion file',
    ],
    ['two assertions', ['--assertion', 'a.b.c', '--assertion-file', 'x'], 'Give the assertion once'],
    [
      'an unreadable JWKS file',
      ['--assertion', 'a.b.c', '--jwks-file', '/nonexistent/j.json'],
      'Cannot read the JWKS file',
    ],
    ['a JWKS that is not one', ['--assertion', 'a.b.c', '--jwks-file', '/dev/null'], 'The JWKS is not JSON'],
    [
      'a JWKS URL that fails',
      ['--assertion', 'a.b.c', '--jwks-url', 'http://127.0.0.1:9/none'],
      'Cannot fetch the JWKS',
    ],
    ['an unknown environment', ['--assertion', 'a.b.c', '--env', 'staging'], 'Unknown environment "staging"'],
    ['a time that is not ISO-8601', ['--assertion', 'a.b.c', '--at', 'yesterday'], 'is not an ISO-8601 time'],
    ['an unknown option', ['--assertion', 'a.b.c', '--verbose'], "Unknown option '--verbose'"],
  ])('exits 2 for %s', async (_what, argv, message) => {
    const r = await cli(['doctor', ...argv]);
    expect(r).toMatchObject({ code: 2, out: '' });
    expect(r.err).toContain(message);
  });

  it('exits 2 when the JWKS URL answers with an error status', async () => {
    const r = await cli([
      'doctor',
      '--assertion',
      good,
      '--jwks-url',
      jwksUrl.replace('jwks.json', 'missing'),
    ]);
    expect(r).toMatchObject({ code: 2, err: expect.stringContaining('HTTP 404') });
  });

  it('runs as a process with the documented exit code', async () => {
    const run = promisify(execFile);
    const error = await run(
      process.execPath,
      ['--import', 'tsx', 'bin/cli.ts', 'doctor', '--assertion', damaged, '--at', AT, '--json'],
      {
        cwd: join(import.meta.dirname, '../..'),
      },
    ).catch((e: { code: number; stdout: string }) => e);
    expect(error).toMatchObject({ code: 1 });
    expect(JSON.parse((error as { stdout: string }).stdout).verdict).toBe('reject');
  });
});
