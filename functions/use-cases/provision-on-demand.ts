import { randomUUID } from 'node:crypto';
import type { ProvisioningLog } from '../ports/provisioning-log.ts';
import { logOutcomes } from './log-outcomes.ts';
import type { Clock } from '../ports/clock.ts';
import { SourceUnavailableError, type DirectoryObject, type DirectoryObjectType } from '../ports/directory-source.ts';
import type { CreateIntentStore } from '../ports/create-intents.ts';
import type { EscrowStore } from '../ports/escrow-store.ts';
import type { JobRunStore } from '../ports/job-run-store.ts';
import type { JobStore } from '../ports/job-store.ts';
import { linkId, type LinkStore, type MembershipStore } from '../ports/link-store.ts';
import { TargetUnavailableError } from '../ports/scim-target.ts';
import { ThrottledError } from '../ports/throttled-error.ts';
import type { StoredJob } from '../schemas/stored-job.ts';
import type { ProvisioningStep, ProvisionOnDemandRequest, ProvisionOnDemandResult } from '../schemas/sync-tick.ts';
import type { ReferenceStore } from '../ports/reference-store.ts';
import { AssignmentScope } from '../domain/assignment-scope.ts';
import { QuarantineError, type Connection } from './connection.ts';
import { makePageApplier, type ObjectOutcome } from './sync/page-applier.ts';
import { TargetMatcher } from './target-matcher.ts';

export interface ProvisionOnDemandDeps {
  jobs: JobStore;
  /** Marks the job's entry counts for a recount when links were written. */
  runs: Pick<JobRunStore, 'markCountsDirty'>;
  links: LinkStore;
  memberships: MembershipStore;
  escrows: EscrowStore;
  intents: CreateIntentStore;
  references: ReferenceStore;
  connect(job: StoredJob): Promise<Connection>;
  clock: Clock;
  provisioningLog: ProvisioningLog;
  /** Concurrent target requests. */
  concurrency: number;
}

const EXPORT_STEP: Record<'create' | 'update' | 'delete' | 'error', string> = {
  create: 'EntryExportAdd',
  update: 'EntryExportUpdate',
  delete: 'EntryExportDelete',
  error: 'EntryExport',
};

function label(object: DirectoryObject): string {
  const name = object.attributes.userPrincipalName ?? object.attributes.displayName;
  return `${object.type} ${typeof name === 'string' ? `'${name}' ` : ''}(${object.id})`;
}

/**
 * Provisions a few objects now, as the scheduled run would (the same applier, links and memberships), and reports
 * each step the way Entra's provisionOnDemand does. The watermark is not moved: the next run sees these objects in
 * step.
 */
export function makeProvisionOnDemand(deps: ProvisionOnDemandDeps) {
  const now = () => deps.clock.now().toISOString();
  const apply = makePageApplier(deps);

  return async function provisionOnDemand(request: Omit<ProvisionOnDemandRequest, 'action'>): Promise<ProvisionOnDemandResult> {
    const job = await deps.jobs.get(request);
    if (!job) return { outcome: 'jobNotFound' };
    let connection: Connection;
    try {
      connection = await deps.connect(job);
    } catch (error) {
      if (error instanceof QuarantineError) return { outcome: 'notReady', message: error.message };
      throw error;
    }
    const startTime = now();
    const steps: ProvisioningStep[] = [];
    const step = (name: string, type: ProvisioningStep['type'], status: ProvisioningStep['status'], description: string, details: Record<string, string> = {}) =>
      steps.push({ name, type, status, description, timestamp: now(), details });

    try {
      const memberIds = [...new Set(request.subjects.flatMap((subject) => (subject.objectTypeName === 'Group' ? subject.members : [])))];
      const refs: { type: DirectoryObjectType; id: string }[] = [
        ...request.subjects.filter((subject) => subject.objectTypeName === 'User').map((subject) => ({ type: 'User' as const, id: subject.objectId })),
        ...memberIds.map((id) => ({ type: 'User' as const, id })),
        ...request.subjects.filter((subject) => subject.objectTypeName === 'Group').map((subject) => ({ type: 'Group' as const, id: subject.objectId })),
      ].filter((ref, index, all) => all.findIndex((other) => other.type === ref.type && other.id === ref.id) === index);

      let read: DirectoryObject[];
      let assignments: AssignmentScope | undefined;
      try {
        read = await connection.source.readObjects(refs);
        // As Entra: with "Sync only assigned users and groups", an object not assigned is skipped (NotEffectivelyEntitled).
        assignments = connection.assignmentScope ? new AssignmentScope(await connection.source.readAssignments(job.servicePrincipalId)) : undefined;
      } catch (error) {
        // The directory refuses this job (no such service principal, credentials it rejects): the tenant's to fix,
        // as a quarantine is. Nothing has been written yet.
        if (error instanceof SourceUnavailableError && error.tenantActionable) return { outcome: 'notReady', message: error.message };
        throw error;
      }
      const found: DirectoryObject[] = [];
      for (const object of read) {
        if (object.removed !== null) {
          step('EntryImport', 'Import', 'failure', `${object.type} ${object.id} was not found in the directory.`, { ObjectId: object.id });
          continue;
        }
        step('EntryImport', 'Import', 'success', `Retrieved ${label(object)} from the directory.`, { ObjectId: object.id });
        const subject = request.subjects.find((candidate) => candidate.objectTypeName === 'Group' && candidate.objectId === object.id);
        const present = new Set(read.filter((other) => other.removed === null).map((other) => other.id));
        found.push(subject ? { ...object, membersAdded: subject.members.filter((id) => present.has(id)) } : object);
      }

      let outcomes: ObjectOutcome[] = [];
      // Links written here are no leased run's: the job's entry counts are counted again at its next round's end.
      let linksChanged = true;
      try {
        try {
          const applied = await apply(found, {
            ...(assignments ? { assignments } : {}),
            scope: {
              links: { tenantId: job.tenantId, jobId: job.id, generation: job.run.linkGeneration },
              escrows: { tenantId: job.tenantId, jobId: job.id, generation: job.run.escrowGeneration },
            },
            connection,
            matcher: new TargetMatcher(connection.target),
            now,
            stampAll: false,
            readMembersOnCreate: false,
            reconcilePending: false,
            pendingMembers: job.run.pendingMembers,
            escrowsPending: job.run.escrowsPending,
            intervalMinutes: job.intervalMinutes,
            hasTime: () => true,
          });
          outcomes = applied.outcomes;
          linksChanged = applied.linkDeltaUncertain || applied.linkDelta.User !== 0 || applied.linkDelta.Group !== 0;
          await logOutcomes(
            deps.provisioningLog,
            { key: request, cycleId: randomUUID(), initiatedBy: { id: '', displayName: 'provisionOnDemand', initiatorType: 'user' }, at: now(), objects: found, outcomes },
            () => undefined,
          );
        } catch (error) {
          if (!(error instanceof TargetUnavailableError || error instanceof ThrottledError)) throw error;
          step('EntryExport', 'Export', 'failure', `The target could not be used: ${error.message}`);
        }
      } finally {
        if (linksChanged) await deps.runs.markCountsDirty(request);
      }
      const byId = new Map(found.map((object) => [linkId(object.type, object.id), object]));
      for (const outcome of outcomes) {
        const object = byId.get(linkId(outcome.ref.type, outcome.ref.sourceId))!;
        if (outcome.error !== undefined) {
          const name = outcome.action === 'skip' ? 'EntryExport' : EXPORT_STEP[outcome.action];
          step(name, 'Export', 'failure', `${label(object)}: ${outcome.error}`);
        } else if (outcome.action === 'skip' && !outcome.membersAdded && !outcome.membersRemoved) {
          step('EntrySynchronizationSkip', 'Export', 'skipped', `${label(object)} needs no change in the target (${outcome.skipReason}).`, {
            SkipReason: outcome.skipReason === 'inStep' ? 'RedundantExport' : outcome.skipReason === 'notEffectivelyEntitled' ? 'NotEffectivelyEntitled' : (outcome.skipReason ?? 'RedundantExport'),
            ...(outcome.membersAdded ? { MembersAdded: String(outcome.membersAdded) } : {}),
          });
        } else {
          const action = outcome.action === 'skip' || outcome.action === 'error' ? 'update' : outcome.action;
          step(EXPORT_STEP[action], 'Export', 'success', `${label(object)}: ${action} in the target${outcome.targetId ? ` (id ${outcome.targetId})` : ''}.`, {
            ...(outcome.targetId ? { TargetId: outcome.targetId } : {}),
            ...(outcome.membersAdded ? { MembersAdded: String(outcome.membersAdded) } : {}),
          });
        }
      }

      const statuses = steps.map((entry) => entry.status);
      const result = statuses.includes('failure') ? 'Failure' : statuses.some((status, i) => status === 'success' && steps[i]!.type === 'Export') ? 'Success' : 'Skipped';
      return { outcome: 'done', result, steps, startTime, endTime: now(), changeId: randomUUID() };
    } finally {
      await connection.close();
    }
  };
}
