import { describe, expect, it } from 'vitest';
import { oneValueEach, oneValueOperations } from '../../functions/adapters/scim/single-values.ts';

const work = { type: 'work', value: '+1 425 555 0000', primary: true };
const mobile = { type: 'mobile', value: '+1 206 555 0000' };

describe('one value per multi-valued attribute', () => {
  it('keeps the primary entry of each multi-valued attribute of a resource, else the first, and says so', () => {
    expect(oneValueEach({ userName: 'a', phoneNumbers: [mobile, work], addresses: [{ type: 'other' }, { type: 'home' }], emails: [work] })).toEqual({
      resource: { userName: 'a', phoneNumbers: [work], addresses: [{ type: 'other' }], emails: [work] },
      reduced: true,
    });
    expect(oneValueEach({ userName: 'a', phoneNumbers: [work] }).reduced).toBe(false);
  });

  it('leaves out operations on entries other than the work one, and added entries beside it', () => {
    const result = oneValueOperations([
      { op: 'replace', path: 'phoneNumbers[type eq "mobile"].value', value: '+1 206 555 0001' },
      { op: 'replace', path: 'phoneNumbers[type eq "work"].value', value: '+1 425 555 0001' },
      { op: 'add', path: 'addresses', value: [{ type: 'other', formatted: 'Seattle' }] },
      { op: 'add', path: 'phoneNumbers', value: [mobile, work] },
      { op: 'replace', value: { phoneNumbers: [mobile, work] } },
      { op: 'replace', path: 'title', value: 'Lead' },
    ]);
    expect(result).toEqual({
      reduced: true,
      operations: [
        { op: 'replace', path: 'phoneNumbers[type eq "work"].value', value: '+1 425 555 0001' },
        { op: 'add', path: 'phoneNumbers', value: [work] },
        { op: 'replace', value: { phoneNumbers: [work] } },
        { op: 'replace', path: 'title', value: 'Lead' },
      ],
    });
    expect(oneValueOperations([{ op: 'replace', path: 'title', value: 'x' }]).reduced).toBe(false);
  });
});
