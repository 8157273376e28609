/**
 * Self-signed certificates for the HTTPS stand-ins, made at run time with the `openssl` command
 * when it is installed: a throwaway CA (the bench's processes trust it through
 * NODE_EXTRA_CA_CERTS) and one server certificate for loopback and for the NHS host name the
 * int-like cold start sends to loopback. Without `openssl`, one self-signed certificate built with
 * node:crypto (bench/x509.ts) is both.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { selfSignedCertificate } from './x509.js';

/** PEM files of a CA and a server certificate it issued. */
export interface BenchCertificates {
  /** The CA certificate: what NODE_EXTRA_CA_CERTS points at. */
  readonly caFile: string;
  readonly key: string;
  readonly cert: string;
}

/** Host names the server certificate is valid for, besides 127.0.0.1. */
export const CERT_HOSTS = ['localhost', 'int.api.service.nhs.uk'] as const;

function hasOpenssl(): boolean {
  try {
    execFileSync('openssl', ['version'], { stdio: 'pipe' });
    return true;
  } catch {
    return false;
  }
}

/** Generates the certificates in `dir`. */
export function generateCertificates(dir: string): BenchCertificates {
  if (!hasOpenssl()) {
    const { key, cert } = selfSignedCertificate(CERT_HOSTS);
    writeFileSync(join(dir, 'ca.pem'), cert);
    return { caFile: join(dir, 'ca.pem'), key, cert };
  }
  const openssl = (args: string[]) => {
    try {
      execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
    } catch (err) {
      throw new Error(
        `openssl ${args[0]} failed: ${(err as { stderr?: Buffer }).stderr?.toString().slice(0, 300)}`,
      );
    }
  };
  const rsa = ['-newkey', 'rsa:2048', '-nodes'];
  openssl([
    'req',
    '-x509',
    ...rsa,
    '-keyout',
    'ca.key',
    '-out',
    'ca.pem',
    '-days',
    '2',
    '-subj',
    '/CN=cis2-bench-ca',
  ]);
  openssl(['req', ...rsa, '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=localhost']);
  const san = ['IP:127.0.0.1', ...CERT_HOSTS.map((h) => `DNS:${h}`)].join(',');
  writeFileSync(
    join(dir, 'server.ext'),
    `subjectAltName=${san}\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n`,
  );
  openssl([
    'x509',
    '-req',
    '-in',
    'server.csr',
    '-CA',
    'ca.pem',
    '-CAkey',
    'ca.key',
    '-CAcreateserial',
    '-out',
    'server.pem',
    '-days',
    '2',
    '-extfile',
    'server.ext',
  ]);
  return {
    caFile: join(dir, 'ca.pem'),
    key: readFileSync(join(dir, 'server.key'), 'utf8'),
    cert: readFileSync(join(dir, 'server.pem'), 'utf8'),
  };
}
