import { randomInt, randomUUID } from 'node:crypto';
import type { Clock } from '../../functions/ports/clock.ts';
import { BadRequestError, ConflictError, NotFoundError } from '../../functions/errors/service-errors.ts';
import { DEFAULT_APP_ROLE_ID } from './directory-schemas.ts';
import type {
  GroupCreate,
  GroupPatch,
  MemberEntry,
  ObjectKind,
  PersistedDirectory,
  StoredObject,
  StoredServicePrincipal,
  UserCreate,
  UserPatch,
} from './directory-schemas.ts';

/** A position in the change log; `supersededBy` is set once the object changes again. */
export interface LogEntry {
  seq: number;
  id: string;
  supersededBy?: number;
  supersededAt?: number;
}

/** An object in memory: members keyed by id, in the order of their latest change (ascending sequence). */
export type DirectoryRecord = Omit<StoredObject, 'members' | 'appearedSeq' | 'changed'> & {
  members: Map<string, MemberEntry>;
  entry: LogEntry;
  /** Sequence at which the object was created or last restored. */
  appearedSeq: number;
  /** Per property, the sequence of its last change (properties unchanged since creation are absent). */
  changed: Record<string, number>;
};

/**
 * A change of a user or group, as change notifications report it: creation, update, soft deletion, restore and
 * membership changes are `updated`; only a permanent deletion is `deleted` (Graph's rule for directory objects).
 */
export interface ObjectChange {
  kind: ObjectKind;
  id: string;
  changeType: 'updated' | 'deleted';
  sequence: number;
}

/**
 * The local directory's users and groups with a monotonically increasing change sequence. Every change gives the
 * object a new sequence and appends it to its kind's log; the entry it replaces is marked superseded, so a delta
 * round can still tell which objects it owed from the state at the round's start. Each object also remembers when
 * it appeared and, per property, when that property last changed, so a round can report only what changed.
 */
export class DirectoryState {
  private sequence = 0;
  /**
   * Carried in every token. A new directory starts at a random epoch, so tokens of a directory that was deleted
   * and seeded again (same ids, same sequences) answer 410 instead of meaning something else.
   */
  private epoch = randomInt(1, 2 ** 31);
  private readonly records = new Map<string, DirectoryRecord>();
  private readonly logs: Record<ObjectKind, LogEntry[]> = { user: [], group: [] };
  private readonly userByPrincipalName = new Map<string, string>();
  private readonly servicePrincipals = new Map<string, StoredServicePrincipal>();
  private readonly watchers: ((change: ObjectChange) => void)[] = [];

  constructor(
    private readonly clock: Clock,
    private readonly onChange: () => void = () => {},
  ) {}

  /**
   * The directory as saved. Sequences, log and epoch come back exactly as they were, so every token issued before
   * still means the same; data that contradicts itself fails loudly rather than answering delta wrongly.
   */
  static restore(data: PersistedDirectory, clock: Clock, onChange?: () => void): DirectoryState {
    const state = new DirectoryState(clock, onChange);
    const inconsistent = (why: string) => new Error(`Directory data is inconsistent: ${why}`);
    state.sequence = data.sequence;
    state.epoch = data.tokenEpoch;
    const kinds = new Map(data.objects.map((stored) => [stored.id, stored.kind] as const));
    const live = new Map<string, LogEntry>();
    for (const kind of ['user', 'group'] as const) {
      let previous = 0;
      state.logs[kind] = data.log[kind].map(([seq, id, supersededBy, supersededAt]) => {
        if (seq <= previous || seq > data.sequence) throw inconsistent(`${kind} log entry ${seq} is out of order`);
        if (kinds.get(id) !== kind) throw inconsistent(`${kind} log entry ${seq} names unknown object ${id}`);
        if (supersededBy !== undefined && (supersededBy <= seq || supersededBy > data.sequence)) {
          throw inconsistent(`${kind} log entry ${seq} is superseded by ${supersededBy}`);
        }
        previous = seq;
        const entry: LogEntry = supersededBy === undefined ? { seq, id } : { seq, id, supersededBy, supersededAt };
        if (supersededBy === undefined) {
          if (live.has(id)) throw inconsistent(`object ${id} has two live log entries`);
          live.set(id, entry);
        }
        return entry;
      });
    }
    for (const { appearedSeq, changed, ...stored } of data.objects) {
      const entry = live.get(stored.id);
      if (!entry || entry.seq !== stored.seq) throw inconsistent(`object ${stored.id} has no live log entry at its sequence`);
      const members = new Map((stored.members ?? []).map((member) => [member.id, member] as const));
      if ([...members.values()].some((member) => member.seq > stored.seq)) throw inconsistent(`group ${stored.id} has members from its future`);
      state.records.set(stored.id, {
        ...stored,
        members,
        entry,
        // Files without change tracking: the object counts as always there, each property as changed at its last change.
        appearedSeq: appearedSeq ?? 0,
        changed: changed ?? Object.fromEntries(Object.keys(stored.properties).map((name) => [name, stored.seq])),
      });
      if (stored.kind === 'user' && stored.state === 'active') state.indexPrincipalName(stored.id, stored.properties);
    }
    for (const principal of data.servicePrincipals ?? []) state.servicePrincipals.set(principal.id, principal);
    return state;
  }

  toJSON(): PersistedDirectory {
    const objects: StoredObject[] = [];
    for (const { members, entry: _entry, ...rest } of this.records.values()) {
      objects.push(rest.kind === 'group' ? { ...rest, members: [...members.values()] } : rest);
    }
    const tuples = (entries: LogEntry[]) =>
      entries.map((e): [number, string] | [number, string, number, number] =>
        e.supersededBy === undefined ? [e.seq, e.id] : [e.seq, e.id, e.supersededBy, e.supersededAt ?? 0],
      );
    return {
      version: 2,
      sequence: this.sequence,
      tokenEpoch: this.epoch,
      objects,
      log: { user: tuples(this.logs.user), group: tuples(this.logs.group) },
      servicePrincipals: [...this.servicePrincipals.values()],
    };
  }

  /** Calls `watcher` after every change of a user or group from now on (not for what a restore or seed set up before). */
  watch(watcher: (change: ObjectChange) => void): void {
    this.watchers.push(watcher);
  }

  get currentSequence(): number {
    return this.sequence;
  }

  get tokenEpoch(): number {
    return this.epoch;
  }

  /** Invalidates every delta and skip token issued so far (their holders get 410 and must resync). */
  expireTokens(): void {
    this.epoch += 1;
    this.onChange();
  }

  /** Any object by id, in any state (tombstones included). */
  find(id: string): DirectoryRecord | undefined {
    return this.records.get(id);
  }

  /** An active object of the kind, else 404. */
  get(kind: ObjectKind, id: string): DirectoryRecord {
    const record = this.records.get(id);
    if (!record || record.kind !== kind || record.state !== 'active') {
      throw new NotFoundError(
        `Resource '${id}' does not exist or one of its queried reference-property objects are not present.`,
      );
    }
    return record;
  }

  /** A soft-deleted object, else 404. */
  getDeleted(id: string): DirectoryRecord {
    const record = this.records.get(id);
    if (!record || record.state !== 'softDeleted') {
      throw new NotFoundError(`Resource '${id}' does not exist or one of its queried reference-property objects are not present.`);
    }
    return record;
  }

  list(kind: ObjectKind, state: 'active' | 'softDeleted'): DirectoryRecord[] {
    const out: DirectoryRecord[] = [];
    for (const record of this.records.values()) if (record.kind === kind && record.state === state) out.push(record);
    return out;
  }

  /** Log entries of a kind with sequence greater than `after`, oldest first. */
  *logAfter(kind: ObjectKind, after: number): Generator<LogEntry> {
    const log = this.logs[kind];
    let low = 0;
    let high = log.length;
    while (low < high) {
      const mid = (low + high) >>> 1;
      if (log[mid]!.seq <= after) low = mid + 1;
      else high = mid;
    }
    for (let i = low; i < log.length; i++) yield log[i]!;
  }

  createUser(body: UserCreate, id: string = randomUUID()): DirectoryRecord {
    const { passwordProfile: _password, ...properties } = body;
    this.assertPrincipalNameFree(properties.userPrincipalName, id);
    const record = this.insert('user', id, {
      accountEnabled: true,
      mailNickname: properties.userPrincipalName.split('@')[0],
      businessPhones: [],
      ...properties,
      createdDateTime: this.clock.now().toISOString(),
      deletedDateTime: null,
    });
    this.indexPrincipalName(id, record.properties);
    return record;
  }

  updateUser(id: string, patch: UserPatch): void {
    const record = this.get('user', id);
    const { passwordProfile: _password, ...properties } = patch;
    if (properties.userPrincipalName !== undefined) this.assertPrincipalNameFree(properties.userPrincipalName, id);
    this.unindexPrincipalName(record.properties);
    this.update(record, properties);
    this.indexPrincipalName(id, record.properties);
  }

  createGroup(body: GroupCreate, id: string = randomUUID()): DirectoryRecord {
    return this.insert('group', id, {
      mailNickname: body.displayName.replace(/[^A-Za-z0-9]/g, '').toLowerCase() || 'group',
      mailEnabled: false,
      securityEnabled: true,
      groupTypes: [],
      description: null,
      ...body,
      createdDateTime: this.clock.now().toISOString(),
      deletedDateTime: null,
    });
  }

  updateGroup(id: string, patch: GroupPatch): void {
    this.update(this.get('group', id), patch);
  }

  /**
   * `DELETE /users/{id}` or `/groups/{id}`. Users and Microsoft 365 (Unified) groups go to deleted items, as in
   * Graph; security groups are deleted permanently.
   */
  delete(kind: ObjectKind, id: string): void {
    const record = this.get(kind, id);
    const groupTypes = record.properties.groupTypes;
    const restorable = kind === 'user' || (Array.isArray(groupTypes) && groupTypes.includes('Unified'));
    const left = this.leaveAllGroups(id);
    if (kind === 'user') {
      this.unindexPrincipalName(record.properties);
      record.restoreGroups = left;
    }
    if (!restorable) record.members.clear();
    if (kind === 'user') this.clearReportsOf(id);
    if (!restorable) this.dropAssignmentsOf(id);
    record.state = restorable ? 'softDeleted' : 'hardDeleted';
    record.properties = { ...record.properties, deletedDateTime: this.clock.now().toISOString() };
    record.changed.deletedDateTime = this.touch(record);
  }

  /** `DELETE /directory/deletedItems/{id}`: gone for good, reported by delta as `deleted`. */
  purge(id: string): void {
    const record = this.getDeleted(id);
    record.state = 'hardDeleted';
    record.members.clear();
    this.dropAssignmentsOf(id);
    delete record.restoreGroups;
    this.touch(record);
  }

  /** `POST /directory/deletedItems/{id}/restore`: the object, its memberships and its members come back. */
  restoreDeleted(id: string): DirectoryRecord {
    const record = this.getDeleted(id);
    if (record.kind === 'user') {
      const name = String(record.properties.userPrincipalName);
      this.assertPrincipalNameFree(name, id);
    }
    record.state = 'active';
    record.properties = { ...record.properties, deletedDateTime: null };
    // A delta round from before the restore carries the object whole, as the holder saw it removed.
    record.appearedSeq = this.touch(record);
    record.changed.deletedDateTime = record.appearedSeq;
    if (record.kind === 'user') {
      this.indexPrincipalName(id, record.properties);
      for (const groupId of record.restoreGroups ?? []) {
        const group = this.records.get(groupId);
        if (group?.state === 'active') this.setMember(group, id, 'user', true);
      }
      delete record.restoreGroups;
    } else {
      // The group's delta after the restore must carry every member again, as the holder saw it removed.
      for (const member of [...record.members.values()]) if (member.present) this.setMember(record, member.id, member.kind, true);
    }
    return record;
  }

  addMember(groupId: string, memberId: string): void {
    this.addMembers(groupId, [memberId]);
  }

  /** Adds every member or, when one cannot be added, none (a refused request changes nothing). */
  addMembers(groupId: string, memberIds: readonly string[], options: { checkOnly?: boolean } = {}): void {
    const group = this.get('group', groupId);
    const members = memberIds.map((memberId, index) => {
      if (memberIds.indexOf(memberId) !== index) throw this.alreadyMember();
      return this.memberToAdd(group, memberId);
    });
    if (options.checkOnly) return;
    for (const member of members) this.setMember(group, member.id, member.kind, true);
  }

  private alreadyMember(): BadRequestError {
    return new BadRequestError("One or more added object references already exist for the following modified properties: 'members'.", 'Request_BadRequest');
  }

  private memberToAdd(group: DirectoryRecord, memberId: string): DirectoryRecord {
    const groupId = group.id;
    const member = this.records.get(memberId);
    if (!member || member.state !== 'active' || memberId === groupId) {
      throw new NotFoundError(`Resource '${memberId}' does not exist or one of its queried reference-property objects are not present.`);
    }
    if (group.members.get(memberId)?.present) throw this.alreadyMember();
    return member;
  }

  removeMember(groupId: string, memberId: string): void {
    const group = this.get('group', groupId);
    const entry = group.members.get(memberId);
    if (!entry?.present) {
      throw new NotFoundError(`Resource '${memberId}' does not exist or one of its queried reference-property objects are not present.`);
    }
    this.setMember(group, memberId, entry.kind, false);
  }

  /** A user's manager (`PUT /users/{id}/manager/$ref`): a change of the user, reported by delta as `manager@delta`. */
  setManager(userId: string, managerId: string, options: { asCreated?: boolean } = {}): void {
    const user = this.get('user', userId);
    this.get('user', managerId);
    if (managerId === userId) throw new BadRequestError('A user cannot be its own manager.', 'Request_BadRequest');
    if (options.asCreated) {
      // Part of the user as first created (a seed): no change of its own, the user keeps its place in delta.
      user.properties = { ...user.properties, manager: managerId };
      this.onChange();
      return;
    }
    this.update(user, { manager: managerId, formerManager: user.properties.manager ?? null });
  }

  removeManager(userId: string): void {
    const user = this.get('user', userId);
    if (typeof user.properties.manager !== 'string') throw new NotFoundError(`Resource 'manager' does not exist or one of its queried reference-property objects are not present.`);
    this.update(user, { manager: null, formerManager: user.properties.manager });
  }

  /** The user's manager, if it has one that is still active. */
  managerOf(userId: string): DirectoryRecord | undefined {
    const id = this.get('user', userId).properties.manager;
    const manager = typeof id === 'string' ? this.records.get(id) : undefined;
    return manager?.state === 'active' ? manager : undefined;
  }

  /** Users and groups below a group at any depth (each once, cycles included), users only when `users`. */
  transitiveMembers(groupId: string): DirectoryRecord[] {
    const seen = new Set<string>([groupId]);
    const found: DirectoryRecord[] = [];
    const queue = [this.get('group', groupId)];
    while (queue.length > 0) {
      for (const member of this.presentMembers(queue.shift()!)) {
        if (seen.has(member.id)) continue;
        seen.add(member.id);
        const record = this.records.get(member.id);
        if (record?.state !== 'active') continue;
        found.push(record);
        if (record.kind === 'group') queue.push(record);
      }
    }
    return found;
  }

  /** The groups above an object at any depth (each once, cycles included), never the object itself. */
  transitiveMemberOf(id: string): DirectoryRecord[] {
    const seen = new Set<string>([id]);
    const found: DirectoryRecord[] = [];
    const queue = [id];
    while (queue.length > 0) {
      for (const group of this.groupsOf(queue.shift()!)) {
        if (seen.has(group.id)) continue;
        seen.add(group.id);
        found.push(group);
        queue.push(group.id);
      }
    }
    return found;
  }

  createServicePrincipal(body: { appId: string; displayName?: string | undefined }, id: string = randomUUID()): StoredServicePrincipal {
    if (this.servicePrincipals.has(id)) throw new ConflictError(`An object with id '${id}' already exists.`);
    if ([...this.servicePrincipals.values()].some((principal) => principal.appId === body.appId)) {
      throw new ConflictError('Another object with the same value for property appId already exists.');
    }
    const principal: StoredServicePrincipal = {
      id,
      appId: body.appId,
      displayName: body.displayName ?? body.appId,
      createdDateTime: this.clock.now().toISOString(),
      assignments: [],
    };
    this.servicePrincipals.set(id, principal);
    this.onChange();
    return principal;
  }

  getServicePrincipal(id: string): StoredServicePrincipal {
    const principal = this.servicePrincipals.get(id);
    if (!principal) throw new NotFoundError(`Resource '${id}' does not exist or one of its queried reference-property objects are not present.`);
    return principal;
  }

  listServicePrincipals(): StoredServicePrincipal[] {
    return [...this.servicePrincipals.values()];
  }

  deleteServicePrincipal(id: string): void {
    this.getServicePrincipal(id);
    this.servicePrincipals.delete(id);
    this.onChange();
  }

  /** `POST /servicePrincipals/{id}/appRoleAssignedTo`: a user or group gets access to the application. */
  assign(servicePrincipalId: string, body: { principalId: string; resourceId: string; appRoleId?: string | undefined }): StoredServicePrincipal['assignments'][number] {
    const principal = this.getServicePrincipal(servicePrincipalId);
    if (body.resourceId.toLowerCase() !== servicePrincipalId.toLowerCase()) {
      throw new BadRequestError(`The resourceId '${body.resourceId}' must be the service principal of the request, '${servicePrincipalId}'.`, 'Request_BadRequest');
    }
    const assignee = this.records.get(body.principalId);
    if (!assignee || assignee.state !== 'active') {
      throw new NotFoundError(`Resource '${body.principalId}' does not exist or one of its queried reference-property objects are not present.`);
    }
    const appRoleId = body.appRoleId ?? DEFAULT_APP_ROLE_ID;
    if (principal.assignments.some((assignment) => assignment.principalId === body.principalId && assignment.appRoleId === appRoleId)) {
      throw new ConflictError('Permission being assigned already exists on the object');
    }
    const assignment = {
      id: randomUUID(),
      appRoleId,
      createdDateTime: this.clock.now().toISOString(),
      principalId: body.principalId,
      principalType: assignee.kind === 'user' ? ('User' as const) : ('Group' as const),
    };
    principal.assignments.push(assignment);
    this.onChange();
    return assignment;
  }

  unassign(servicePrincipalId: string, assignmentId: string): void {
    const principal = this.getServicePrincipal(servicePrincipalId);
    const at = principal.assignments.findIndex((assignment) => assignment.id === assignmentId);
    if (at < 0) throw new NotFoundError(`Resource '${assignmentId}' does not exist or one of its queried reference-property objects are not present.`);
    principal.assignments.splice(at, 1);
    this.onChange();
  }

  /** The active groups an object is a direct member of. */
  groupsOf(memberId: string): DirectoryRecord[] {
    return this.list('group', 'active').filter((group) => group.members.get(memberId)?.present === true);
  }

  /** Current members of a group, in order of their latest change. */
  presentMembers(group: DirectoryRecord): MemberEntry[] {
    return [...group.members.values()].filter((member) => member.present);
  }

  /**
   * Drops log entries superseded before the given time. Tokens older than that are expired anyway, so no round
   * can still need them.
   */
  compactLog(supersededBeforeMs: number): void {
    for (const kind of ['user', 'group'] as const) {
      const log = this.logs[kind];
      if (log.length <= 2 * this.records.size + 1024) continue;
      this.logs[kind] = log.filter((e) => e.supersededAt === undefined || e.supersededAt >= supersededBeforeMs);
    }
  }

  private insert(kind: ObjectKind, id: string, properties: Record<string, unknown>): DirectoryRecord {
    if (this.records.has(id)) throw new ConflictError(`An object with id '${id}' already exists.`);
    const entry: LogEntry = { seq: ++this.sequence, id };
    const record: DirectoryRecord = {
      kind,
      id,
      state: 'active',
      seq: entry.seq,
      appearedSeq: entry.seq,
      properties,
      changed: {},
      members: new Map(),
      entry,
    };
    this.records.set(id, record);
    this.logs[kind].push(entry);
    this.onChange();
    this.announce(record);
    return record;
  }

  /** Sets the properties that differ; a patch that changes no value is no change (no sequence, no delta entry). */
  private update(record: DirectoryRecord, patch: Record<string, unknown>): void {
    const names = Object.keys(patch).filter((name) => !sameValue(record.properties[name], patch[name]));
    if (names.length === 0) return;
    record.properties = { ...record.properties, ...patch };
    const seq = this.touch(record);
    for (const name of names) record.changed[name] = seq;
  }

  private touch(record: DirectoryRecord): number {
    const seq = ++this.sequence;
    record.entry.supersededBy = seq;
    record.entry.supersededAt = this.clock.now().getTime();
    record.entry = { seq, id: record.id };
    record.seq = seq;
    this.logs[record.kind].push(record.entry);
    this.onChange();
    this.announce(record);
    return seq;
  }

  private announce(record: DirectoryRecord): void {
    const change: ObjectChange = {
      kind: record.kind,
      id: record.id,
      changeType: record.state === 'hardDeleted' ? 'deleted' : 'updated',
      sequence: record.seq,
    };
    for (const watcher of this.watchers) watcher(change);
  }

  private setMember(group: DirectoryRecord, memberId: string, kind: ObjectKind, present: boolean): void {
    const seq = this.touch(group);
    // Re-insert so the map stays in ascending sequence order, which delta pages rely on.
    group.members.delete(memberId);
    group.members.set(memberId, { id: memberId, kind, seq, present });
  }

  /** A deleted user manages no one: its reports' manager is cleared (a change of each report). */
  private clearReportsOf(managerId: string): void {
    for (const record of this.records.values()) {
      if (record.kind === 'user' && record.state === 'active' && record.properties.manager === managerId) this.update(record, { manager: null, formerManager: managerId });
    }
  }

  /** An object gone for good is no longer assigned to any application. */
  private dropAssignmentsOf(principalId: string): void {
    for (const principal of this.servicePrincipals.values()) {
      const kept = principal.assignments.filter((assignment) => assignment.principalId !== principalId);
      if (kept.length !== principal.assignments.length) principal.assignments = kept;
    }
  }

  /** Removes the object from every group it is in; returns those groups' ids. */
  private leaveAllGroups(memberId: string): string[] {
    const left: string[] = [];
    for (const group of this.records.values()) {
      if (group.kind === 'group' && group.state !== 'hardDeleted' && group.members.get(memberId)?.present) {
        this.setMember(group, memberId, group.members.get(memberId)!.kind, false);
        left.push(group.id);
      }
    }
    return left;
  }

  private assertPrincipalNameFree(name: string, id: string): void {
    const holder = this.userByPrincipalName.get(name.toLowerCase());
    if (holder !== undefined && holder !== id) {
      throw new ConflictError('Another object with the same value for property userPrincipalName already exists.');
    }
  }

  private indexPrincipalName(id: string, properties: Record<string, unknown>): void {
    this.userByPrincipalName.set(String(properties.userPrincipalName).toLowerCase(), id);
  }

  private unindexPrincipalName(properties: Record<string, unknown>): void {
    this.userByPrincipalName.delete(String(properties.userPrincipalName).toLowerCase());
  }
}

/** Property values are JSON (strings, booleans, null, string lists); unset and null are the same to Graph. */
function sameValue(a: unknown, b: unknown): boolean {
  return JSON.stringify(a ?? null) === JSON.stringify(b ?? null);
}
