import { assignmentChange } from '../../domain/assignment-scope.ts';
import { chunks } from '../../domain/chunks.ts';
import type { AssignmentStore } from '../../ports/assignment-store.ts';
import type { Assignments, DirectoryObject, DirectorySource } from '../../ports/directory-source.ts';
import type { LinkScope, MembershipStore } from '../../ports/link-store.ts';
import type { BatchApplied } from './page-applier.ts';

/** Directly assigned users read and applied per batch. */
const USERS_PER_BATCH = 100;

export interface AssignmentPass {
  batches: BatchApplied[];
  /** Every change was applied; false when time ran out first (the next run picks up where this one stopped). */
  complete: boolean;
}

/**
 * Applies what changed in the application's assignments since they were last applied: each user or group newly
 * assigned or unassigned is read as it is now and planned against the current assignments, so it comes into scope
 * or leaves it at once, not when it next changes. A group brings its members: assigned, it is provisioned with
 * them; unassigned, it is deleted and each of its members looked at again (another assignment may keep it in).
 * Each principal is recorded as applied once its batch is done; a run that stops part-way leaves the rest.
 */
export async function applyAssignmentChanges(input: {
  assignments: AssignmentStore;
  memberships: MembershipStore;
  source: DirectorySource;
  scope: LinkScope;
  current: Assignments;
  flatten: boolean;
  apply(objects: DirectoryObject[]): Promise<BatchApplied>;
  hasTime(): boolean;
}): Promise<AssignmentPass> {
  const { assignments, source, scope } = input;
  const stored = await assignments.list(scope);
  const change = assignmentChange(stored.applied, input.current);
  // A change begun by a run that died is done again, as the principal is assigned now.
  const current = { users: new Set(input.current.users), groups: new Set(input.current.groups) };
  for (const kind of ['users', 'groups'] as const) {
    for (const id of stored.pending[kind]) {
      const into = current[kind].has(id) ? change.assigned : change.unassigned;
      if (!into[kind].includes(id)) into[kind].push(id);
    }
  }
  const batches: BatchApplied[] = [];
  const step = async (objects: DirectoryObject[], principals: Assignments, record: () => Promise<void>): Promise<boolean> => {
    if (!input.hasTime()) return false;
    // Noted first: should the run die while applying, the next one does it again.
    await assignments.put(scope, principals, true);
    const applied = await input.apply(objects);
    batches.push(applied);
    if (!applied.complete) return false;
    await record();
    return true;
  };
  const users = (ids: string[]) => source.readObjects(ids.map((id) => ({ type: 'User' as const, id })));
  const group = async (id: string) => (await source.readObjects([{ type: 'Group', id }]))[0]!;

  for (const [ids, assigned] of [[change.assigned.users, true], [change.unassigned.users, false]] as const) {
    for (const batch of chunks(ids, USERS_PER_BATCH)) {
      const principals = { users: batch, groups: [] };
      const record = () => (assigned ? assignments.put(scope, principals, false) : assignments.delete(scope, principals));
      if (!(await step(await users(batch), principals, record))) return { batches, complete: false };
    }
  }
  for (const groupId of change.assigned.groups) {
    const object = await group(groupId);
    const members = object.removed === null ? await source.readMembers(groupId, { transitive: input.flatten }) : [];
    const principals = { users: [], groups: [groupId] };
    if (!(await step([{ ...object, membersAdded: members }], principals, () => assignments.put(scope, principals, false)))) {
      return { batches, complete: false };
    }
  }
  for (const groupId of change.unassigned.groups) {
    // Its members as recorded and as the directory has them: a run that died may have provisioned some unrecorded.
    const object = await group(groupId);
    const listed = object.removed === null ? await source.readMembers(groupId, { transitive: input.flatten }) : [];
    const members = [...new Set([...(await recordedMembers(input.memberships, scope, groupId)), ...listed])];
    const objects = [...(members.length > 0 ? await users(members) : []), object];
    const principals = { users: [], groups: [groupId] };
    if (!(await step(objects, principals, () => assignments.delete(scope, principals)))) return { batches, complete: false };
  }
  return { batches, complete: true };
}

/** The users a group's membership records name (present, or waiting to be added). */
async function recordedMembers(memberships: MembershipStore, scope: LinkScope, groupId: string): Promise<string[]> {
  const members: string[] = [];
  let cursor: string | null = null;
  do {
    const page = await memberships.listByGroup(scope, groupId, cursor, 1000);
    members.push(...page.items.filter((record) => record.state !== 'remove').map((record) => record.userId));
    cursor = page.cursor;
  } while (cursor);
  return members;
}
