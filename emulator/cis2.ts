/**
 * A CIS2 (Care Identity Service 2) identity provider stand-in: discovery document, JWKS and ID
 * tokens shaped like the platform's own e2e fixture (`cis2_subject_token_claims`, docs/nhs-platform.md §5),
 * so the token endpoint can apply the §4d subject token rules to them.
 */
import { generateKeyPair, type KeyObject, randomUUID, sign } from 'node:crypto';
import { promisify } from 'node:util';
import { calculateJwkThumbprint, type JWK } from 'jose';
import type { Clock } from '../lambda/platform/clock.js';
import { b64url } from '../lambda/platform/jws.js';
import type { JsonObject } from '../lambda/platform/rules.js';

/** Default `aud` (the CIS2 client id) of emulated ID tokens, from the ISA e2e fixture. */
export const CIS2_DEFAULT_AUDIENCE = '969567331415.apps.national';

/** Default `sub` (the user's UID) of emulated ID tokens, from the ISA e2e fixture. */
export const CIS2_DEFAULT_SUBJECT = '787807429511';

/**
 * Lifetime of emulated ID tokens. CIS2's own lifetime is UNCONFIRMED (docs/nhs-platform.md §5); this is
 * the ForgeRock AM default, which CIS2 runs on.
 */
export const ID_TOKEN_TTL_S = 3600;

/** Thrown for an ID token request whose overrides are not usable. */
export class IdTokenRequestError extends Error {
  readonly code = 'ERR_EMULATOR_ID_TOKEN';
  constructor(message: string) {
    super(message);
    this.name = 'IdTokenRequestError';
  }
}

/** An RSA signing key with its public JWK. */
export interface Cis2SigningKey {
  readonly privateKey: KeyObject;
  readonly publicKey: KeyObject;
  readonly publicJwk: JWK & { kid: string };
}

/** Generates the emulated CIS2 signing key (RSA 2048, kid = JWK thumbprint). */
export async function generateCis2SigningKey(): Promise<Cis2SigningKey> {
  const { privateKey, publicKey } = await promisify(generateKeyPair)('rsa', { modulusLength: 2048 });
  const jwk = publicKey.export({ format: 'jwk' }) as JWK;
  const kid = await calculateJwkThumbprint(jwk);
  return { privateKey, publicKey, publicJwk: { ...jwk, kid, alg: 'RS256', use: 'sig' } };
}

function applyOverrides(base: JsonObject, overrides: JsonObject): JsonObject {
  const out = { ...base };
  for (const [name, value] of Object.entries(overrides)) {
    if (value === null) delete out[name];
    else if (value !== undefined) out[name] = value;
  }
  return out;
}

/** The emulated CIS2 issuer. */
export class Cis2Provider {
  constructor(
    /** The `iss` of issued ID tokens and the only issuer the token endpoint accepts. */
    readonly issuer: string,
    private readonly key: Cis2SigningKey,
    private readonly clock: Clock,
  ) {}

  /** Where the JWKS is served: CIS2's `<issuer>/connect/jwk_uri`. */
  get jwksUri(): string {
    return `${this.issuer}/connect/jwk_uri`;
  }

  /** The OpenID Connect discovery document (only the fields this emulator backs). */
  discovery(): JsonObject {
    return {
      issuer: this.issuer,
      jwks_uri: this.jwksUri,
      id_token_signing_alg_values_supported: ['RS256'],
      subject_types_supported: ['public'],
      response_types_supported: ['code'],
      claims_supported: ['sub', 'acr', 'amr', 'id_assurance_level', 'authentication_assurance_level'],
    };
  }

  /** The public JWKS. */
  jwks(): { keys: JWK[] } {
    return { keys: [this.key.publicJwk] };
  }

  /** The public key for a subject token `kid`, if it is this issuer's. */
  publicKeyFor(kid: unknown): KeyObject | undefined {
    return kid === this.key.publicJwk.kid ? this.key.publicKey : undefined;
  }

  /**
   * Signs an ID token. Each claim override replaces the default, `null` removes it; a `header`
   * object overrides the JOSE header the same way (so tests can drop `kid`, `typ` or `alg`).
   * The token is signed by hand rather than with jose because jose refuses a header without `alg`;
   * it is RS512 when the header says so and RS256 otherwise, so unsupported algs fail verification.
   *
   * @throws {@link IdTokenRequestError} when `header` is present but not an object.
   */
  idToken(overrides: JsonObject = {}): string {
    const { header: headerOverrides, ...claimOverrides } = overrides;
    if (headerOverrides !== undefined && (headerOverrides === null || typeof headerOverrides !== 'object'))
      throw new IdTokenRequestError('header must be an object of header overrides');
    const nowS = Math.floor(this.clock.now() / 1000);
    const header = applyOverrides(
      { typ: 'JWT', kid: this.key.publicJwk.kid, alg: 'RS256' },
      (headerOverrides ?? {}) as JsonObject,
    );
    const claims = applyOverrides(
      {
        at_hash: b64url(randomUUID()).slice(0, 22),
        sub: CIS2_DEFAULT_SUBJECT,
        auditTrackingId: `${randomUUID()}-${nowS}`,
        amr: ['N3_SMARTCARD'],
        iss: this.issuer,
        tokenName: 'id_token',
        aud: CIS2_DEFAULT_AUDIENCE,
        acr: 'AAL3_ANY',
        azp: CIS2_DEFAULT_AUDIENCE,
        auth_time: nowS,
        realm: '/NHSIdentity/Healthcare',
        exp: nowS + ID_TOKEN_TTL_S,
        tokenType: 'JWTToken',
        iat: nowS,
        id_assurance_level: 3,
        authentication_assurance_level: 3,
      },
      claimOverrides,
    );
    const signingInput = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(claims))}`;
    const digest = header.alg === 'RS512' ? 'sha512' : 'sha256';
    return `${signingInput}.${b64url(sign(digest, Buffer.from(signingInput), this.key.privateKey))}`;
  }
}
