import { describe, expect, it } from 'vitest';
import { SECRET_PLACEHOLDER } from '../../lambda/names.js';
import { parseCredentialsSecret } from '../../lambda/proxy/credentials.js';
import { buildStack } from './helpers.js';

describe('the secret the stack creates', () => {
  it('holds the placeholder the runtime refuses with a config_error until an operator sets it', () => {
    // Prepare
    const { template } = buildStack('int');
    const [secret] = Object.values(template.findResources('AWS::SecretsManager::Secret'));
    const initial = secret?.Properties.SecretString as string;

    // Act
    const parsing = () => parseCredentialsSecret('proxy/int', initial);

    // Assess
    expect(JSON.parse(initial)).toEqual({ api_key: SECRET_PLACEHOLDER, client_secret: SECRET_PLACEHOLDER });
    expect(parsing).toThrow(expect.objectContaining({ code: 'config_error' }));
  });
});
