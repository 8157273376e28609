/**
 * The peer baseline, written from the description in issue #15 of the closest peer design (NHS
 * EPS prescription tracker), not from its code: the signing key is a PEM read from the Secrets
 * Manager secret once per container; every request reads the user's item from the DynamoDB table
 * and writes it back; a token with more than 60 s left is served, otherwise the proxy signs an
 * RS512 client assertion in process and exchanges at the token endpoint. One log line per request
 * through the same Powertools Logger. It exists to be measured next to ours on the same stand-ins.
 */
import { createHash, createPrivateKey, type KeyObject, randomUUID, sign } from 'node:crypto';
import { type DynamoDBClient, GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { GetSecretValueCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { APIGatewayProxyResult } from 'aws-lambda';
import { URN } from '../lambda/platform/rules.js';
import type { ProxyEvent } from '../lambda/proxy/handler.js';
import type { Telemetry } from '../lambda/proxy/telemetry.js';
import { cpuMsSince } from './stats.js';

/** What the peer is built with. */
export interface PeerOptions {
  readonly secrets: SecretsManagerClient;
  readonly secretId: string;
  readonly dynamo: DynamoDBClient;
  readonly tableName: string;
  readonly tokenUrl: string;
  readonly kid: string;
  readonly telemetry: Telemetry;
}

/** Seconds of life left at or under which the peer exchanges again. */
export const PEER_REFRESH_LEFT_S = 60;

const b64url = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

/** The peer's handler, plus the CPU it spent inside RSA signing (to subtract, as KMS does it for us). */
export class PeerProxy {
  /** CPU milliseconds spent in RSA signing so far. */
  rsaCpuMs = 0;
  private credentials?: Promise<{ apiKey: string; key: KeyObject }>;

  constructor(private readonly options: PeerOptions) {}

  private loadCredentials() {
    this.credentials ??= this.options.secrets
      .send(new GetSecretValueCommand({ SecretId: this.options.secretId }))
      .then((out) => {
        const secret = JSON.parse(out.SecretString ?? '{}') as { api_key: string; private_key: string };
        return { apiKey: secret.api_key, key: createPrivateKey(secret.private_key) };
      });
    return this.credentials;
  }

  private async assertion(): Promise<string> {
    const { apiKey, key } = await this.loadCredentials();
    const now = Math.floor(Date.now() / 1000);
    const input = `${b64url({ alg: 'RS512', typ: 'JWT', kid: this.options.kid })}.${b64url({
      iss: apiKey,
      sub: apiKey,
      aud: this.options.tokenUrl,
      jti: randomUUID(),
      exp: now + 300,
      iat: now,
    })}`;
    const cpu = process.cpuUsage();
    const signature = sign('sha512', Buffer.from(input), key).toString('base64url');
    this.rsaCpuMs += cpuMsSince(cpu);
    return `${input}.${signature}`;
  }

  private async exchange(subjectToken: string): Promise<{ accessToken: string; expiresAt: number }> {
    const response = await fetch(this.options.tokenUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: URN.tokenExchange,
        subject_token_type: URN.idToken,
        subject_token: subjectToken,
        client_assertion_type: URN.clientAssertionType,
        client_assertion: await this.assertion(),
      }).toString(),
    });
    const body = (await response.json()) as { access_token?: string; expires_in?: string | number };
    if (!response.ok || !body.access_token) throw new Error(`peer exchange failed: ${response.status}`);
    return { accessToken: body.access_token, expiresAt: Date.now() + Number(body.expires_in) * 1000 };
  }

  /** `POST /token` with `{"subject_token": ...}`. */
  readonly handler = async (event: ProxyEvent): Promise<APIGatewayProxyResult> => {
    const started = performance.now();
    const { subject_token: subjectToken } = JSON.parse(event.body ?? '{}') as { subject_token: string };
    const pk = `peer#${createHash('sha256').update(subjectToken).digest('hex')}`;
    const { dynamo, tableName } = this.options;
    const stored = await dynamo.send(new GetItemCommand({ TableName: tableName, Key: { pk: { S: pk } } }));
    let token = stored.Item && {
      accessToken: stored.Item.accessToken?.S as string,
      expiresAt: Number(stored.Item.expiresAt?.N),
    };
    const exchanged = !token || token.expiresAt - Date.now() <= PEER_REFRESH_LEFT_S * 1000;
    if (exchanged) token = await this.exchange(subjectToken);
    const { accessToken, expiresAt } = token as { accessToken: string; expiresAt: number };
    await dynamo.send(
      new PutItemCommand({
        TableName: tableName,
        Item: {
          pk: { S: pk },
          accessToken: { S: accessToken },
          expiresAt: { N: String(expiresAt) },
          lastUsed: { N: String(Date.now()) },
        },
      }),
    );
    this.options.telemetry.log.info('token_request', {
      outcome: 'success',
      cache: exchanged ? 'miss' : 'hit',
      duration_ms: Math.round((performance.now() - started) * 1000) / 1000,
    });
    return {
      statusCode: 200,
      headers: { 'content-type': 'application/json', 'cache-control': 'no-store' },
      body: JSON.stringify({
        access_token: accessToken,
        token_type: 'Bearer',
        expires_in: Math.floor((expiresAt - Date.now()) / 1000),
      }),
    };
  };
}
