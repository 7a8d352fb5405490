import { createHash } from 'node:crypto';
import type { DirectoryState } from './directory-state.ts';

const GIVEN_NAMES = [
  'Adele', 'Alex', 'Allan', 'Bianca', 'Christie', 'Debra', 'Diego', 'Emily', 'Enrico', 'Grady',
  'Henrietta', 'Irvin', 'Isaiah', 'Johanna', 'Joni', 'Lee', 'Lidia', 'Lynne', 'Megan', 'Miriam',
];
const SURNAMES = [
  'Vance', 'Wilber', 'Deyoung', 'Pisani', 'Cline', 'Berg', 'Siciliani', 'Braun', 'Cattaneo', 'Archie',
  'Gonzales', 'Sink', 'Langer', 'Lauer', 'Sherman', 'Gu', 'Holloway', 'Robbins', 'Bowen', 'Graham',
];
const DEPARTMENTS = ['Engineering', 'Sales', 'Marketing', 'Finance', 'Support', 'Operations'];
const JOB_TITLES = ['Engineer', 'Account Manager', 'Marketing Lead', 'Analyst', 'Support Specialist', 'Coordinator'];
const CITIES = [
  { city: 'Seattle', state: 'WA', postalCode: '98101', country: 'United States', usageLocation: 'US', language: 'en-US' },
  { city: 'London', state: null, postalCode: 'EC1A 1BB', country: 'United Kingdom', usageLocation: 'GB', language: 'en-GB' },
  { city: 'Berlin', state: null, postalCode: '10115', country: 'Germany', usageLocation: 'DE', language: 'de-DE' },
];
const DOMAIN = 'contoso.example';

/** The demo SCIM app's service principal: the id the README's job is created under. */
export const DEMO_SERVICE_PRINCIPAL_ID = '5c1d7a3e-0b5f-4e2a-9d6c-3f8e2b1a7c40';
const DEMO_APP_ID = '8f2e6b1d-4c3a-4e5f-9a7b-2d1c0e9f8a63';
const DEFAULT_ROLE = '00000000-0000-0000-0000-000000000000';

/** A stable GUID for a seed object, so the same seed always yields the same ids. */
function seedId(name: string): string {
  const hex = createHash('sha256').update(`local-directory:${name}`).digest('hex');
  const variant = ((parseInt(hex[16]!, 16) & 0x3) | 0x8).toString(16);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-${variant}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

/**
 * Fills an empty directory with deterministic demo users (all enabled, Graph-style properties) and groups named
 * after departments; group k holds the users of department k, or, given `groupSizes`, the next `groupSizes[k]`
 * users in turn (a benchmark's one very large group among many small ones). The demo app's service principal has
 * the first group and three users outside it assigned; some users have a manager (one of them a manager not assigned).
 */
export function seedDemoDirectory(state: DirectoryState, counts: { users: number; groups: number; groupSizes?: readonly number[] }): void {
  const app = state.createServicePrincipal({ appId: DEMO_APP_ID, displayName: 'Demo SCIM app' }, DEMO_SERVICE_PRINCIPAL_ID);
  const userIds: string[] = [];
  const usersByDepartment = new Map<number, string[]>();
  for (let i = 0; i < counts.users; i++) {
    const givenName = GIVEN_NAMES[i % GIVEN_NAMES.length]!;
    const surname = SURNAMES[Math.floor(i / GIVEN_NAMES.length) % SURNAMES.length]!;
    const round = Math.floor(i / (GIVEN_NAMES.length * SURNAMES.length));
    const nickname = `${givenName}.${surname}${round > 0 ? round : ''}`.toLowerCase();
    const department = i % DEPARTMENTS.length;
    const place = CITIES[i % CITIES.length]!;
    const employeeNumber = String(100000 + i);
    const user = state.createUser(
      {
        userPrincipalName: `${nickname}@${DOMAIN}`,
        displayName: `${givenName} ${surname}${round > 0 ? ` ${round}` : ''}`,
        givenName,
        surname,
        mail: `${nickname}@${DOMAIN}`,
        mailNickname: nickname.replace('.', ''),
        proxyAddresses: [`SMTP:${nickname}@${DOMAIN}`],
        jobTitle: JOB_TITLES[department]!,
        department: DEPARTMENTS[department]!,
        companyName: 'Contoso',
        employeeId: employeeNumber,
        employeeType: 'Employee',
        accountEnabled: true,
        businessPhones: [`+1 425 555 ${employeeNumber.slice(-4)}`],
        mobilePhone: `+1 206 555 ${employeeNumber.slice(-4)}`,
        officeLocation: `${place.city} ${1 + (i % 5)}/${100 + (i % 40)}`,
        streetAddress: `${1 + (i % 200)} Main Street`,
        postalCode: place.postalCode,
        city: place.city,
        state: place.state,
        country: place.country,
        usageLocation: place.usageLocation,
        preferredLanguage: place.language,
        userType: 'Member',
      },
      seedId(`user:${i}`),
    );
    userIds.push(user.id);
    const members = usersByDepartment.get(department) ?? [];
    members.push(user.id);
    usersByDepartment.set(department, members);
  }
  let nextMember = 0;
  const membersOf = (k: number): string[] => {
    const size = counts.groupSizes?.[k];
    if (size === undefined) return usersByDepartment.get(k % DEPARTMENTS.length) ?? [];
    const members = Array.from({ length: Math.min(size, userIds.length) }, (_, i) => userIds[(nextMember + i) % userIds.length]!);
    nextMember = (nextMember + size) % Math.max(1, userIds.length);
    return members;
  };
  for (let k = 0; k < counts.groups; k++) {
    const department = DEPARTMENTS[k % DEPARTMENTS.length]!;
    const suffix = k >= DEPARTMENTS.length ? ` ${Math.floor(k / DEPARTMENTS.length) + 1}` : '';
    const group = state.createGroup(
      {
        displayName: `${department}${suffix}`,
        description: `Everyone in ${department}`,
        mailNickname: `${department}${suffix}`.replace(/\s/g, '').toLowerCase(),
        mailEnabled: false,
        securityEnabled: true,
      },
      seedId(`group:${k}`),
    );
    for (const userId of membersOf(k)) state.addMember(group.id, userId);
    if (k === 0) state.assign(app.id, { principalId: group.id, resourceId: app.id, appRoleId: DEFAULT_ROLE });
  }
  // Users 1, 2 and 3 are in departments 1-3, not in the first group: assigned on their own.
  for (const i of [1, 2, 3]) if (userIds[i]) state.assign(app.id, { principalId: userIds[i], resourceId: app.id, appRoleId: DEFAULT_ROLE });
  // 2 and 3 report to 1, 6 (first group) to 0; 1 reports to 4, who is out of scope: that reference waits.
  for (const [report, manager] of [[2, 1], [3, 1], [6, 0], [1, 4]] as const) {
    if (userIds[report] && userIds[manager]) state.setManager(userIds[report], userIds[manager], { asCreated: true });
  }
}
