import {
  AddMembers,
  RestoreUser,
  NestGroup,
  CreateUser,
  DeleteInTarget,
  ExpireDeltaTokens,
  HardDeleteUser,
  RefuseObject,
  RemoveMember,
  RenameGroup,
  RestartJob,
  RunTriggered,
  Unassign,
  SetAccountEnabled,
  SoftDeleteUser,
  StartJob,
  Tick,
  TimeOut,
  UpdateUser,
  type SyncCommand,
} from './sync-commands.ts';
import type { RunFault } from './sync-world.ts';

/**
 * Sequences that once showed a problem, shrunk, replayed on every run before anything is generated. Each names
 * the kinds of problems it is about: it passes once those are gone, whatever else is still open (the generated
 * properties check everything). docs/model-based-test.md lists them.
 */
export interface KnownSequence {
  id: string;
  title: string;
  /** Problem kinds this sequence must not show (see SyncWorld.differences and the per-run checks). */
  kinds: string[];
  commands: SyncCommand[];
  /** The world's seed: which older image a stale read serves, back-off jitter. */
  seed?: number;
  /** Played in a world with assignment scope (`SyncAll` unset; g1 and u7 assigned). */
  assignmentScope?: true;
}

const longThrottle: RunFault = { kind: 'throttle', retryAfterSeconds: 3600, times: 1 };
const synced = () => new Tick({});

export const KNOWN_SEQUENCES: KnownSequence[] = [
  {
    id: 'N1',
    title: 'a group is provisioned with its externalId (the directory object id)',
    kinds: ['group-external-id'],
    commands: [synced()],
  },
  {
    id: 'B1',
    title: 'a group rename reaches the target',
    kinds: ['group-missing', 'group-name', 'group-not-in-directory'],
    commands: [synced(), new RenameGroup(0)],
  },
  {
    id: 'B2-resync',
    title: 'a user soft-deleted while the delta token was expired is disabled in the target',
    kinds: ['user-soft-deleted-active'],
    commands: [synced(), new ExpireDeltaTokens(), new SoftDeleteUser(0)],
  },
  {
    id: 'B2-restart',
    title: 'a user soft-deleted before a default restart is read is disabled in the target',
    kinds: ['user-soft-deleted-active'],
    commands: [synced(), new RestartJob(null), new SoftDeleteUser(0)],
  },
  {
    id: 'B2-crash',
    title: 'an account created by a run killed before it saved its link is disabled when the user is deleted meanwhile',
    kinds: ['user-soft-deleted-active'],
    commands: [new UpdateUser(0, { mail: 0 }), new Tick({ crash: { at: 30, afterEffect: false } }), new SoftDeleteUser(0)],
  },
  {
    id: 'C1-regress',
    title: 'an escrowed change never overwrites a newer one',
    kinds: ['user-attributes'],
    commands: [
      synced(),
      new UpdateUser(0, { jobTitle: 1 }),
      new Tick({ fault: longThrottle }),
      new UpdateUser(0, { jobTitle: 2 }),
      new Tick({ fault: longThrottle }),
    ],
  },
  {
    id: 'C1-ghost',
    title: 'a user hard-deleted while its create was escrowed is never provisioned',
    kinds: ['user-not-in-directory'],
    commands: [
      synced(),
      new CreateUser(true, 0),
      new Tick({ fault: longThrottle }),
      new SoftDeleteUser(9),
      new HardDeleteUser(0),
      new Tick({ fault: longThrottle }),
    ],
  },
  {
    id: 'C2',
    title: 'a 429 with a long Retry-After pauses the run instead of escrowing',
    kinds: ['throttle-escrow'],
    commands: [synced(), new UpdateUser(0, { jobTitle: 1 }), new Tick({ fault: longThrottle })],
  },
  {
    id: 'C4',
    title: 'a member added while its user was not provisioned (disabled) is in the group once the user is',
    kinds: ['group-members-missing'],
    commands: [new AddMembers(0, [1]), synced(), new SetAccountEnabled(0, true)],
  },
  {
    id: 'C5',
    title: 'a group deleted in the target is provisioned again with all its members',
    kinds: ['group-missing', 'group-members-missing'],
    commands: [synced(), new DeleteInTarget('group', 0)],
  },
  {
    id: 'N2',
    title: 'a user provisioned again after a 404 is back in its groups',
    kinds: ['group-members-missing'],
    commands: [synced(), new DeleteInTarget('user', 0)],
  },
  {
    id: 'N3',
    title: 'adopting an existing account (restart Full) replaces multi-valued entries instead of adding a second one',
    kinds: ['user-attributes'],
    commands: [synced(), new UpdateUser(0, { mail: 0 }), new RestartJob('Full')],
  },
  {
    id: 'N4',
    title: 'after a restart Full, members removed from an adopted group leave the target group',
    kinds: ['group-members-extra'],
    commands: [synced(), new RestartJob('Full'), new RemoveMember(0, 0)],
  },
  {
    id: 'N5',
    title: 'a group whose first request the target refuses gets, once retried, the members its first page carried',
    kinds: ['group-members-missing'],
    commands: [new RefuseObject('group', 0, 400, 1), synced()],
  },
  {
    id: 'N6',
    title: 'after a restart Full, a user soft-deleted before the new round read it is disabled in the target',
    kinds: ['user-soft-deleted-active'],
    commands: [synced(), new RestartJob('Full'), new SoftDeleteUser(0)],
  },
  {
    id: 'N6-disabled',
    title: 'after a restart Full, a user disabled before the new round read it is disabled in the target',
    kinds: ['user-attributes'],
    commands: [synced(), new RestartJob('Full'), new SetAccountEnabled(7, false)],
  },
  {
    id: 'N7',
    title: 'a create that timed out after the target made it is linked: the account follows later changes and joins its groups',
    kinds: ['user-attributes', 'group-members-missing'],
    commands: [new TimeOut(true, 1), synced(), new SetAccountEnabled(0, false), new SetAccountEnabled(0, false)],
  },
  {
    id: 'N8',
    title: 'a change made after a run paused on 503s reaches the target on the schedule, without a start',
    kinds: ['user-attributes', 'behind-on-schedule'],
    commands: [
      new SoftDeleteUser(0),
      new RunTriggered({}),
      new HardDeleteUser(0),
      new RemoveMember(0, 0),
      new Tick({ fault: { kind: 'fail', status: 503, times: 5 } }),
      new UpdateUser(0, { mail: 0 }),
    ],
  },
  {
    id: 'A2',
    title: 'the end of a full round does not remove members it read on earlier pages (stale Query of the group links)',
    kinds: ['group-members-missing'],
    commands: [synced(), new RestartJob('Watermark'), new Tick({ stale: 0.5 })],
    seed: 55433,
  },
  {
    id: 'A3',
    title: 'a tick that reads the job just created and started stale (missing, or not yet started) keeps its schedule',
    kinds: ['schedule'],
    commands: [new Tick({ stale: 1 })],
  },
  {
    id: 'N9',
    title: 'a group whose escrow retry lost its create answer keeps its escrow, and gets its members',
    kinds: ['group-members-missing', 'behind-on-schedule'],
    commands: [
      new UpdateUser(0, { displayName: 13, jobTitle: 1, department: 1, mail: 1 } as never),
      new RunTriggered({ fault: { kind: 'timeout', served: true, times: 1 } }),
      new RefuseObject('group', 3, 400, 1),
      new Tick({}),
      new TimeOut(true, 2),
      new RunTriggered({ fault: { kind: 'fail', status: 500, times: 2 } }),
      new Tick({}),
      new Tick({ fault: { kind: 'throttle', retryAfterSeconds: 1, times: 1 } }),
      new Tick({ fault: { kind: 'throttle', retryAfterSeconds: 1, times: 1 } }),
    ],
  },
  {
    id: 'N10',
    title: 'a group created by a killed run and then adopted loses the member the directory dropped meanwhile',
    kinds: ['group-members-extra', 'behind-on-schedule'],
    seed: 9,
    commands: [
      new NestGroup(0, 26),
      new Tick({ crash: { at: 68, afterEffect: true } }),
      new RestoreUser(0),
      new RemoveMember(2, 0),
      new RenameGroup(2),
      new SetAccountEnabled(2, true),
      new RestoreUser(1),
      new StartJob(),
      new NestGroup(0, 0),
    ],
  },
  {
    id: 'N11',
    title: 'an account created by a run killed before saving its link, of a user soft-deleted meanwhile, is disabled',
    kinds: ['user-soft-deleted-active', 'behind-on-schedule'],
    commands: [new RunTriggered({ crash: { at: 8, afterEffect: true } }), new SoftDeleteUser(0)],
  },
  {
    id: 'N12',
    title: 'after a restart Full, a group renamed meanwhile is found by its externalId, not created twice',
    kinds: ['group-duplicate', 'group-name', 'group-not-in-directory', 'created-twice'],
    commands: [synced(), new RestartJob('Full'), new RenameGroup(0)],
  },
  {
    id: 'N13',
    title: 'a restart Escrows retries what was escrowed afresh instead of leaving it out of the target',
    kinds: ['user-missing', 'behind-on-schedule'],
    commands: [new RefuseObject('user', 0, 400, 1), synced(), new RestartJob('Escrows')],
  },
  {
    id: 'N14',
    title: 'a group deleted in the target comes back without the member the directory dropped meanwhile',
    kinds: ['group-members-extra', 'behind-on-schedule'],
    commands: [synced(), new DeleteInTarget('group', 0), new SoftDeleteUser(0)],
  },
  {
    id: 'N15',
    title: 'a user provisioned again leaves no reference to its vanished account in its groups',
    kinds: ['group-members-extra', 'behind-on-schedule'],
    commands: [new RefuseObject('group', 45, 400, 1), new RunTriggered({}), new DeleteInTarget('user', 0)],
  },
  {
    id: 'N16',
    title: 'a user and its group both deleted in the target come back without an escrow',
    kinds: ['throttle-escrow', 'group-members-missing', 'behind-on-schedule'],
    commands: [synced(), new DeleteInTarget('group', 0), new DeleteInTarget('user', 0)],
  },
  {
    id: 'N17',
    title: 'a user created by a run killed before its link was saved, then unassigned, is not left active',
    kinds: ['user-out-of-scope-active', 'behind-on-schedule'],
    commands: [new Tick({ crash: { at: 31, afterEffect: true } }), new Unassign(0)],
    assignmentScope: true,
  },
  {
    id: 'N18',
    title: 'a group created by a run killed before its link was saved, then unassigned, is not left in the target',
    kinds: ['group-out-of-scope', 'behind-on-schedule'],
    commands: [new Tick({ crash: { at: 40, afterEffect: true } }), new Unassign(0)],
    assignmentScope: true,
  },
];
