import { describe, expect, it } from 'vitest';
import { deleteThresholdOf } from '../../functions/domain/accidental-deletions.ts';

const settings = [{ name: 'QuarantineTooManyDeletesThreshold', value: '500' }];

describe('deleteThresholdOf', () => {
  it.each([
    ['no SyncNotificationSettings', undefined, null],
    ['protection off', '{"Enabled":false,"DeleteThresholdEnabled":false}', null],
    ['on, with its own value', '{"DeleteThresholdEnabled":true,"DeleteThresholdValue":25}', 25],
    ['on, value as a string', '{"DeleteThresholdEnabled":"True","DeleteThresholdValue":"40"}', 40],
    ['on, the job setting as the value', '{"DeleteThresholdEnabled":true}', 500],
    ['unreadable JSON', '{DeleteThresholdEnabled', null],
  ])('%s → %s', (_name, value, expected) => {
    expect(deleteThresholdOf(settings, value)).toBe(expected);
  });

  it('is off when enabled without any usable value', () => {
    expect(deleteThresholdOf([{ name: 'QuarantineTooManyDeletesThreshold', value: 'x' }], '{"DeleteThresholdEnabled":true}')).toBeNull();
  });
});
