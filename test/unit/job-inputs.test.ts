import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formatInterval, MAX_INTERVAL_MINUTES, parseIntervalMinutes } from '../../functions/domain/interval.ts';
import { maxRequestsPerSecondOf, reconcileIntervalOf, reconcileWanted } from '../../functions/domain/job-settings.ts';
import { parseResetScope } from '../../functions/domain/reset-scope.ts';
import { canonicalSecretKey, checkTargetAddress, isInternalHost, normaliseSecrets } from '../../functions/domain/secret-keys.ts';
import { updateJobBodySchema } from '../../functions/schemas/requests.ts';

describe('job interval', () => {
  it.each([
    ['PT1M', 1],
    ['PT5M', 5],
    ['PT40M', 40],
    ['PT1H', 60],
    ['PT1H30M', 90],
    ['P1D', 1440],
    ['P1DT2H', 1560],
    ['PT120S', 2],
    ['PT0H10M', 10],
    ['P366D', MAX_INTERVAL_MINUTES],
  ])('%s is %i minutes', (value, minutes) => {
    expect(parseIntervalMinutes(value)).toBe(minutes);
  });

  it.each(['PT30S', 'PT0M', 'P0D', 'PT90S', 'P1M', 'P1Y', 'P1W', '5', '', 'P', 'PT', 'P1DT', 'pt5m', 'PT5.5M', '-PT5M', 'P367D', ' PT5M'])(
    '%j is not a job interval',
    (value) => {
      expect(parseIntervalMinutes(value)).toBeNull();
    },
  );

  it.each([
    [1, 'PT1M'],
    [60, 'PT1H'],
    [90, 'PT1H30M'],
    [1440, 'P1D'],
    [1501, 'P1DT1H1M'],
  ])('%i minutes render as %s', (minutes, text) => {
    expect(formatInterval(minutes)).toBe(text);
  });

  it('parses every rendered interval back to its minutes', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: MAX_INTERVAL_MINUTES }), (minutes) => {
        expect(parseIntervalMinutes(formatInterval(minutes))).toBe(minutes);
      }),
    );
  });
});

describe('restart resetScope', () => {
  const plan = (watermark: boolean, escrows: boolean, quarantine: boolean, links: boolean, forceDeletes: boolean) => ({
    watermark,
    escrows,
    quarantine,
    links,
    forceDeletes,
  });

  it.each([
    [undefined, plan(true, true, true, false, false)],
    [null, plan(true, true, true, false, false)],
    ['', plan(true, true, true, false, false)],
    ['None', plan(false, false, false, false, false)],
    ['Watermark', plan(true, false, false, false, false)],
    ['Escrows', plan(false, true, false, false, false)],
    ['QuarantineState', plan(false, false, true, false, false)],
    ['ConnectorDataStore', plan(false, false, false, true, false)],
    ['ForceDeletes', plan(false, false, false, false, true)],
    ['Full', plan(true, true, true, true, true)],
    ['watermark, ESCROWS', plan(true, true, false, false, false)],
    [' Watermark ,,QuarantineState ', plan(true, false, true, false, false)],
  ])('%j plans %o', (scope, expected) => {
    expect(parseResetScope(scope)).toEqual(expected);
  });

  it.each(['Everything', 'Watermark,Nope', 'Watermark;Escrows', 'Full ForceDeletes'])('%j is refused', (scope) => {
    expect(parseResetScope(scope)).toBeNull();
  });
});

describe('secret keys', () => {
  it.each([
    ['BaseAddress', 'BaseAddress'],
    ['baseaddress', 'BaseAddress'],
    ['SECRETTOKEN', 'SecretToken'],
    ['SourceBaseAddress', 'SourceBaseAddress'],
    ['ApiKey', null],
    ['', null],
  ])('%j is %j', (key, canonical) => {
    expect(canonicalSecretKey(key)).toBe(canonical);
  });

  it('normalises key spelling and keeps values', () => {
    expect(normaliseSecrets([{ key: 'baseAddress', value: 'https://a' }, { key: 'secrettoken', value: 't' }])).toEqual([
      { key: 'BaseAddress', value: 'https://a' },
      { key: 'SecretToken', value: 't' },
    ]);
  });

  it.each([
    [[{ key: 'Nope', value: 'x' }], { kind: 'unknownKey', key: 'Nope' }],
    [[{ key: 'SecretToken', value: 'a' }, { key: 'secretToken', value: 'b' }], { kind: 'duplicateKey', key: 'SecretToken' }],
  ])('reports %j as %o', (pairs, problem) => {
    expect(normaliseSecrets(pairs)).toEqual(problem);
  });

  it.each([
    ['localhost', true],
    ['app.localhost', true],
    ['127.0.0.1', true],
    ['10.1.2.3', true],
    ['172.16.0.1', true],
    ['172.32.0.1', false],
    ['192.168.1.1', true],
    ['169.254.169.254', true],
    ['100.64.0.1', true],
    ['[::1]', true],
    ['fd00::1', true],
    ['scim.example.com', false],
    ['8.8.8.8', false],
    ['localhost.', true],
    ['[::ffff:7f00:1]', true],
    ['[::ffff:a9fe:a9fe]', true],
    ['[::ffff:808:808]', false],
    ['[fe80::1]', true],
    ['[2001:db8::1]', false],
    ['127.0.0.1.nip.example', false],
    ['10.example.com', false],
    ['fcbarcelona.example', false],
    ['fdic.example', false],
  ])('%s internal: %s', (host, internal) => {
    expect(isInternalHost(host)).toBe(internal);
  });

  it.each([
    ['https://scim.example.com/scim', 'deployed', null],
    ['https://scim.example.com/scim', 'local', null],
    ['https://127.0.0.1/scim', 'local', null],
    ['http://127.0.0.1:3002/scim', 'local', null],
    ['http://localhost:3002/scim', 'local', null],
    ['http://[::1]:3002/scim', 'local', null],
    ['https://169.254.169.254/latest', 'deployed', 'private'],
    ['https://10.0.0.1/scim', 'deployed', 'private'],
    ['http://scim.example.com/scim', 'deployed', 'https'],
    ['http://scim.example.com/scim', 'local', 'loopback'],
    ['http://10.0.0.5/scim', 'local', 'loopback'],
    ['http://127.0.0.1/scim', 'deployed', 'https'],
    ['ftp://scim.example.com/', 'local', 'https'],
    ['file:///etc/passwd', 'local', 'https'],
    ['scim.example.com', 'deployed', 'absolute'],
    ['https://user:pass@scim.example.com/', 'deployed', 'credentials'],
    ['https://localhost./', 'deployed', 'private'],
    ['https://[::ffff:127.0.0.1]/', 'deployed', 'private'],
    ['https://2130706433/', 'deployed', 'private'],
    ['https://fcbarcelona.example/scim', 'deployed', null],
    ['http://127.0.0.1.nip.example/scim', 'local', 'loopback'],
  ] as const)('%s in %s mode: %s', (url, mode, problem) => {
    const answer = checkTargetAddress(url, mode);
    if (problem === null) expect(answer).toBeNull();
    else expect(answer).toContain(problem);
  });
});

describe('job setting MaxRequestsPerSecond', () => {
  const patch = (value: string) => updateJobBodySchema.safeParse({ synchronizationJobSettings: [{ name: 'maxRequestsPerSecond', value }] });

  it.each([
    ['10', 10],
    ['0.27', 0.27],
    [' 600 ', 600],
  ])('%j is %d requests per second', (value, rate) => {
    expect(patch(value).success).toBe(true);
    expect(maxRequestsPerSecondOf([{ name: 'MaxRequestsPerSecond', value }])).toBe(rate);
  });

  it.each(['0', '0.0', '-1', '1e3', 'ten', '', '.5', 'Infinity'])('%j is refused, naming the setting', (value) => {
    const parsed = patch(value);
    expect(parsed.success).toBe(false);
    expect(parsed.error?.issues[0]?.message).toContain('MaxRequestsPerSecond must be a positive number');
    expect(parsed.error?.issues[0]?.path).toEqual(['synchronizationJobSettings', 0, 'value']);
  });

  it('is absent when not set, and other settings are not checked against it', () => {
    expect(maxRequestsPerSecondOf([{ name: 'FlattenNestedGroups', value: 'True' }])).toBeUndefined();
    expect(updateJobBodySchema.safeParse({ synchronizationJobSettings: [{ name: 'FlattenNestedGroups', value: 'x' }] }).success).toBe(true);
  });
});

describe('job setting ReconcileInterval', () => {
  const patch = (value: string) => updateJobBodySchema.safeParse({ synchronizationJobSettings: [{ name: 'reconcileinterval', value }] });

  it.each([
    ['P1D', 1440],
    ['PT1H', 60],
    [' PT12H ', 720],
  ])('%j is %d minutes', (value, minutes) => {
    expect(patch(value).success).toBe(true);
    expect(reconcileIntervalOf([{ name: 'ReconcileInterval', value }])).toBe(minutes);
  });

  it.each(['PT59M', 'PT30S', 'daily', '1', '', 'P'])('%j is refused, naming the setting', (value) => {
    const parsed = patch(value);
    expect(parsed.success).toBe(false);
    expect(parsed.error?.issues[0]?.message).toContain('ReconcileInterval must be an ISO 8601 duration');
    expect(parsed.error?.issues[0]?.path).toEqual(['synchronizationJobSettings', 0, 'value']);
  });

  const job = (reconciledAt: string | null, settings = [{ name: 'ReconcileInterval', value: 'P1D' }], reconcileRequested = false) => ({
    createdDateTime: '2024-01-01T00:00:00.000Z',
    synchronizationJobSettings: settings,
    run: { reconcileRequested, reconciledAt },
  });
  it.each([
    ['due a day after the last read-back', job('2024-01-05T00:00:00.000Z'), '2024-01-06T00:00:00.000Z', true],
    ['not before', job('2024-01-05T00:00:00.000Z'), '2024-01-05T23:59:59.000Z', false],
    ['before the first, counted from the creation', job(null), '2024-01-01T23:00:00.000Z', false],
    ['and due a day after it', job(null), '2024-01-02T00:00:00.000Z', true],
    ['never without the setting', job(null, []), '2030-01-01T00:00:00.000Z', false],
    ['always when a restart asked for it', job('2024-01-05T00:00:00.000Z', [], true), '2024-01-05T00:00:01.000Z', true],
  ])('a read-back is %s', (_what, given, now, wanted) => {
    expect(reconcileWanted(given, now)).toBe(wanted);
  });
});
