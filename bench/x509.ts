/**
 * A self-signed X.509 certificate built with node:crypto alone (DER by hand), for machines
 * without the `openssl` command: one RSA key and one certificate that is both the trust anchor
 * (NODE_EXTRA_CA_CERTS) and the servers' certificate.
 */
import { generateKeyPairSync, randomBytes, sign } from 'node:crypto';

const length = (n: number): number[] => (n < 0x80 ? [n] : n < 0x100 ? [0x81, n] : [0x82, n >> 8, n & 0xff]);
const tlv = (tag: number, ...parts: Buffer[]): Buffer => {
  const body = Buffer.concat(parts);
  return Buffer.concat([Buffer.from([tag, ...length(body.length)]), body]);
};
const seq = (...parts: Buffer[]) => tlv(0x30, ...parts);
const oid = (dotted: string): Buffer => {
  const [a, b, ...rest] = dotted.split('.').map(Number) as [number, number, ...number[]];
  const bytes = [40 * a + b];
  for (const n of rest) {
    const chunk = [n & 0x7f];
    for (let v = n >> 7; v > 0; v >>= 7) chunk.unshift((v & 0x7f) | 0x80);
    bytes.push(...chunk);
  }
  return tlv(0x06, Buffer.from(bytes));
};
const integer = (bytes: Buffer) =>
  tlv(0x02, (bytes[0] ?? 0) & 0x80 ? Buffer.concat([Buffer.from([0]), bytes]) : bytes);
const utcTime = (d: Date) => tlv(0x17, Buffer.from(`${d.toISOString().slice(2, 19).replace(/[-T:]/g, '')}Z`));
const name = (cn: string) => seq(tlv(0x31, seq(oid('2.5.4.3'), tlv(0x0c, Buffer.from(cn)))));
const SHA256_WITH_RSA = seq(oid('1.2.840.113549.1.1.11'), tlv(0x05));

/**
 * A self-signed certificate (CA:TRUE, serverAuth) valid for two days for 127.0.0.1 and `hosts`.
 *
 * @returns the PEM key and certificate.
 */
export function selfSignedCertificate(hosts: readonly string[]): { key: string; cert: string } {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const now = Date.now();
  const san = seq(
    tlv(0x87, Buffer.from([127, 0, 0, 1])),
    ...hosts.map((host) => tlv(0x82, Buffer.from(host))),
  );
  const critical = tlv(0x01, Buffer.from([0xff]));
  const extensions = seq(
    seq(oid('2.5.29.17'), tlv(0x04, san)),
    seq(oid('2.5.29.19'), critical, tlv(0x04, seq(tlv(0x01, Buffer.from([0xff]))))),
    seq(oid('2.5.29.37'), tlv(0x04, seq(oid('1.3.6.1.5.5.7.3.1')))),
  );
  const tbs = seq(
    tlv(0xa0, integer(Buffer.from([2]))),
    integer(randomBytes(16)),
    SHA256_WITH_RSA,
    name('cis2-bench'),
    seq(utcTime(new Date(now - 60_000)), utcTime(new Date(now + 2 * 86_400_000))),
    name('cis2-bench'),
    publicKey.export({ format: 'der', type: 'spki' }),
    tlv(0xa3, extensions),
  );
  const der = seq(tbs, SHA256_WITH_RSA, tlv(0x03, Buffer.from([0]), sign('sha256', tbs, privateKey)));
  const body = der.toString('base64').replace(/.{64}/g, '$&\n').trimEnd();
  return {
    key: privateKey.export({ format: 'pem', type: 'pkcs8' }) as string,
    cert: `-----BEGIN CERTIFICATE-----\n${body}\n-----END CERTIFICATE-----\n`,
  };
}
