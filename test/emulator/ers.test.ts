/**
 * The e-RS A030 stand-in over HTTP: an access token the emulated platform issued opens it; a
 * missing, unknown or expired token, low identity assurance and throttling get e-RS's
 * OperationOutcomes (shapes and sources in emulator/ers.ts).
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { rolesOfBundle } from '../../client/index.js';
import {
  DEFAULT_ERS_ROLES,
  type Emulator,
  ERS_A030_PATH,
  ERS_IAL_DIAGNOSTICS,
  FHIR_JSON,
  startEmulator,
} from '../../emulator/index.js';
import { ManualClock } from '../../lambda/platform/clock.js';
import {
  type AppKey,
  clientCredentialsForm,
  makeAppKey,
  postForm,
  signAssertion,
  tokenExchangeForm,
} from '../helpers/emulator-fixtures.js';

const API_KEY = 'ers-test-app';

let emulator: Emulator;
let key: AppKey;
let clock: ManualClock;

beforeAll(async () => {
  key = await makeAppKey();
  clock = new ManualClock();
  emulator = await startEmulator({
    clock,
    apps: [{ apiKey: API_KEY, clientSecret: 'ers-secret', jwks: key.jwks }],
    ersRolesFor: (sub) =>
      sub === 'two-orgs' ? DEFAULT_ERS_ROLES : [{ ods: 'X26', businessFunctions: ['REFERRING_CLINICIAN'] }],
  });
});
afterAll(() => emulator.close());
beforeEach(() => clock.set(Date.now()));

/** An access token for a CIS2 user, from the emulator's token endpoint. */
async function accessToken(claims: Record<string, unknown> = {}): Promise<string> {
  const assertion = await signAssertion({ key, apiKey: API_KEY, aud: emulator.tokenUrl, nowMs: clock.now() });
  const response = await postForm(
    emulator.tokenUrl,
    tokenExchangeForm(assertion, await emulator.idToken(claims)),
  );
  expect(response.status, response.text).toBe(200);
  return response.json().access_token as string;
}

/** The parts of A030 bodies the tests read. */
interface ErsBody {
  readonly entry: { resource: { practitioner: { identifier: unknown } } }[];
  readonly issue: { code: string }[];
  readonly [field: string]: unknown;
}

async function a030(headers: Record<string, string>) {
  const response = await fetch(`${emulator.baseUrl}${ERS_A030_PATH}`, { headers });
  return {
    status: response.status,
    headers: response.headers,
    body: (await response.json()) as ErsBody,
  };
}

/** Asserts the OperationOutcome shape of `AssignMessage.OperationOutcomeErrorResponse.xml`. */
function expectOutcome(
  response: Awaited<ReturnType<typeof a030>>,
  status: number,
  issue: { code: string; details: string; diagnostics?: string },
): void {
  expect(response.status).toBe(status);
  expect(response.headers.get('content-type')).toBe(FHIR_JSON);
  expect(response.body).toEqual({
    resourceType: 'OperationOutcome',
    meta: {
      lastUpdated: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
      profile: ['https://www.hl7.org/fhir/R4/operationoutcome.html'],
    },
    issue: [
      {
        severity: 'error',
        code: issue.code,
        details: {
          coding: [
            { system: 'https://fhir.nhs.uk/CodeSystem/NHSD-API-ErrorOrWarningCode', code: issue.details },
          ],
        },
        ...(issue.diagnostics === undefined ? {} : { diagnostics: issue.diagnostics }),
      },
    ],
  });
}

describe('e-RS A030 stand-in', () => {
  it('answers 200 with the user business functions per organisation, for a token the platform issued', async () => {
    // Prepare
    const token = await accessToken({ sub: 'two-orgs' });

    // Act
    const response = await a030({ authorization: `Bearer ${token}`, 'x-correlation-id': 'ers-corr-1' });

    // Assess
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe(FHIR_JSON);
    expect(response.headers.get('x-correlation-id')).toBe('ers-corr-1');
    expect(response.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}-1$/);
    expect(response.body).toMatchObject({ resourceType: 'Bundle', type: 'searchset', total: 2 });
    expect(response.body.entry[0].resource.practitioner.identifier).toEqual({
      system: 'https://fhir.nhs.uk/Id/sds-user-id',
      value: 'two-orgs',
    });
    expect(rolesOfBundle(response.body)).toEqual([
      { ods: 'R69', businessFunction: 'SERVICE_DEFINER' },
      { ods: 'R69', businessFunction: 'SERVICE_PROVIDER_CLINICIAN' },
      { ods: 'R69', businessFunction: 'SERVICE_PROVIDER_ADMIN' },
      { ods: 'R68', businessFunction: 'REFERRING_CLINICIAN' },
    ]);
    expect(emulator.ers.records().at(-1)).toMatchObject({
      status: 200,
      sub: 'two-orgs',
      correlationId: 'ers-corr-1',
    });
  });

  it('answers each user with their own roles', async () => {
    // Act
    const response = await a030({ authorization: `Bearer ${await accessToken({ sub: 'one-org' })}` });

    // Assess
    expect(rolesOfBundle(response.body)).toEqual([{ ods: 'X26', businessFunction: 'REFERRING_CLINICIAN' }]);
  });

  it.each([
    ['missing', {}],
    ['not Bearer', { authorization: 'Basic abc' }],
    ['unknown', { authorization: 'Bearer 99999999999999999999999999999999' }],
  ])(
    '401 login "Invalid access token" for a %s token, echoing X-Correlation-ID and the caller X-Request-ID',
    async (_what, auth) => {
      // Act
      const response = await a030({ ...auth, 'x-correlation-id': 'c-401', 'x-request-id': 'DUMMY' });

      // Assess
      expectOutcome(response, 401, {
        code: 'login',
        details: 'ACCESS_DENIED',
        diagnostics: 'Invalid access token',
      });
      expect(response.headers.get('www-authenticate')).toContain('error="invalid_token"');
      expect(response.headers.get('x-correlation-id')).toBe('c-401');
      expect(response.headers.get('x-request-id')).toBe('DUMMY');
    },
  );

  it('401 login for a token the platform issued that has expired', async () => {
    // Prepare
    const token = await accessToken();
    clock.advance(600_000);

    // Act
    const response = await a030({ authorization: `Bearer ${token}` });

    // Assess
    expectOutcome(response, 401, {
      code: 'login',
      details: 'ACCESS_DENIED',
      diagnostics: 'Access Token expired',
    });
  });

  it('refuses an application-restricted token: A030 is a user endpoint', async () => {
    // Prepare
    const assertion = await signAssertion({
      key,
      apiKey: API_KEY,
      aud: emulator.tokenUrl,
      nowMs: clock.now(),
    });
    const appToken = (await postForm(emulator.tokenUrl, clientCredentialsForm(assertion))).json()
      .access_token;

    // Act
    const response = await a030({ authorization: `Bearer ${appToken}` });

    // Assess
    expect(response.status).toBe(401);
  });

  it.each([2, 1])(
    '401 forbidden "We couldn\'t verify your identity" for id_assurance_level %i',
    async (level) => {
      // Prepare
      const token = await accessToken({ id_assurance_level: level });

      // Act
      const response = await a030({ authorization: `Bearer ${token}`, 'x-correlation-id': 'c-ial' });

      // Assess
      expectOutcome(response, 401, {
        code: 'forbidden',
        details: 'ACCESS_DENIED',
        diagnostics: ERS_IAL_DIAGNOSTICS,
      });
      expect(response.headers.get('x-correlation-id')).toBe('c-ial');
    },
  );

  it('keeps the identity assurance level across a refresh', async () => {
    // Prepare: sign in with IAL2, then refresh.
    const assertion = await signAssertion({
      key,
      apiKey: API_KEY,
      aud: emulator.tokenUrl,
      nowMs: clock.now(),
    });
    const first = await postForm(
      emulator.tokenUrl,
      tokenExchangeForm(assertion, await emulator.idToken({ id_assurance_level: 2 })),
    );
    const refreshed = await postForm(emulator.tokenUrl, {
      grant_type: 'refresh_token',
      client_id: API_KEY,
      client_secret: 'ers-secret',
      refresh_token: String(first.json().refresh_token),
    });

    // Act
    const response = await a030({ authorization: `Bearer ${refreshed.json().access_token}` });

    // Assess
    expect(response.status).toBe(401);
    expect(response.body.issue[0].code).toBe('forbidden');
  });

  it('429 throttled TOO_MANY_REQUESTS without diagnostics, then 200 again', async () => {
    // Prepare
    const token = await accessToken();
    emulator.ers.throttle(1);

    // Act
    const throttled = await a030({ authorization: `Bearer ${token}`, 'x-correlation-id': 'c-429' });
    const after = await a030({ authorization: `Bearer ${token}` });

    // Assess
    expectOutcome(throttled, 429, { code: 'throttled', details: 'TOO_MANY_REQUESTS' });
    expect(throttled.headers.get('x-correlation-id')).toBe('c-429');
    expect(after.status).toBe(200);
  });

  it('checks the token before throttling, as the e-RS proxy does', async () => {
    // Prepare
    emulator.ers.throttle(1);

    // Act
    const unknown = await a030({ authorization: 'Bearer nope' });
    const known = await a030({ authorization: `Bearer ${await accessToken()}` });

    // Assess
    expect([unknown.status, known.status]).toEqual([401, 429]);
  });
});
