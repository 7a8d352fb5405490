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

/** A stable GUID for a seed object, so the same seed always yields the same ids. */
function seedId(name: string): string {
  const hex = createHash('sha256').update(`local-directory:${name}`).digest('hex');
  const variant = ((parseInt(hex[16]!, 16) & 0x3) | 0x8).toString(16);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-${variant}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

/**
 * Fills an empty directory with deterministic demo users (all enabled, Graph-style properties) and groups named
 * after departments; group k holds the users of department k.
 */
export function seedDemoDirectory(state: DirectoryState, counts: { users: number; groups: number }): void {
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
    const members = usersByDepartment.get(department) ?? [];
    members.push(user.id);
    usersByDepartment.set(department, members);
  }
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
    for (const userId of usersByDepartment.get(k % DEPARTMENTS.length) ?? []) state.addMember(group.id, userId);
  }
}
