import { describe, expect, it } from 'vitest';
import { parseTokenPolicy } from '../../functions/config/access-token.ts';

const base = { AUTH_TENANTS: 'a-1, b-2', AUTH_AUDIENCE: 'api://x, 1234' };

describe('the token policy from the environment', () => {
  it('reads lists, trims them, and defaults the login base to Entra', () => {
    expect(parseTokenPolicy(base)).toEqual({
      loginBaseUrl: 'https://login.microsoftonline.com',
      audience: ['api://x', '1234'],
      tenants: new Set(['a-1', 'b-2']),
      appIds: null,
    });
    expect(parseTokenPolicy({ ...base, AUTH_TENANTS: 'any', AUTH_APP_IDS: 'app-1' })).toMatchObject({ tenants: 'any', appIds: new Set(['app-1']) });
  });

  it.each([
    ['no tenants', { AUTH_AUDIENCE: 'api://x' }, 'AUTH_TENANTS'],
    ['an empty tenant list', { ...base, AUTH_TENANTS: ' , ' }, 'AUTH_TENANTS'],
    ['a tenant that is not an id', { ...base, AUTH_TENANTS: 'a-1,contoso.com' }, 'AUTH_TENANTS'],
    ['no audience', { AUTH_TENANTS: 'any' }, 'AUTH_AUDIENCE'],
    ['a login base that is not a URL', { ...base, AUTH_LOGIN_BASE_URL: 'login' }, 'AUTH_LOGIN_BASE_URL'],
  ])('fails the cold start on %s, naming the variable', (_name, env, variable) => {
    // A function that cannot tell whom to admit must refuse everyone (a 500 and an error log), never admit anyone.
    expect(() => parseTokenPolicy(env)).toThrow(variable);
  });
});
