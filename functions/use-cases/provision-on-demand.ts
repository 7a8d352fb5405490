import { randomUUID } from 'node:crypto';
import { linkIdsFor, planObject, type ObjectPlan } from '../domain/sync-plan.ts';
import type { Clock } from '../ports/clock.ts';
import type { DirectoryObject, DirectoryObjectType } from '../ports/directory-source.ts';
import type { JobStore } from '../ports/job-store.ts';
import { linkId, type LinkStore, type ObjectLink } from '../ports/link-store.ts';
import { ScimRequestError, TargetUnavailableError } from '../ports/scim-target.ts';
import type { StoredJob } from '../schemas/stored-job.ts';
import type { ProvisioningStep, ProvisionOnDemandRequest, ProvisionOnDemandResult } from '../schemas/sync-tick.ts';
import { applyPlan } from './apply-plan.ts';
import { QuarantineError, type Connection } from './sync-run.ts';
import { TargetMatcher } from './target-matcher.ts';

export interface ProvisionOnDemandDeps {
  jobs: JobStore;
  links: LinkStore;
  connect(job: StoredJob): Promise<Connection>;
  clock: Clock;
}

const EXPORT_STEP: Record<Exclude<ObjectPlan['kind'], 'skip' | 'error'>, string> = {
  create: 'EntryExportAdd',
  update: 'EntryExportUpdate',
  delete: 'EntryExportDelete',
};

function label(object: DirectoryObject): string {
  const name = object.attributes.userPrincipalName ?? object.attributes.displayName;
  return `${object.type} ${typeof name === 'string' ? `'${name}' ` : ''}(${object.id})`;
}

/**
 * Provisions a few objects now, as the scheduled run would (same plan, same links), and reports each step the way
 * Entra's provisionOnDemand does. The watermark is not moved: the next run sees these objects in step.
 */
export function makeProvisionOnDemand(deps: ProvisionOnDemandDeps) {
  const now = () => deps.clock.now().toISOString();

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

      const read = await connection.source.readObjects(refs);
      const found: DirectoryObject[] = [];
      read.forEach((object, index) => {
        const ref = refs[index]!;
        if (!object) {
          step('EntryImport', 'Import', 'failure', `${ref.type} ${ref.id} was not found in the directory.`, { ObjectId: ref.id });
          return;
        }
        step('EntryImport', 'Import', 'success', `Retrieved ${label(object)} from the directory.`, { ObjectId: object.id });
        const subject = request.subjects.find((candidate) => candidate.objectTypeName === 'Group' && candidate.objectId === object.id);
        found.push(subject ? { ...object, membersAdded: subject.members.filter((id) => read.some((other) => other?.id === id)) } : object);
      });

      const scope = { tenantId: job.tenantId, jobId: job.id, generation: job.run.linkGeneration };
      const known = await deps.links.getMany(scope, linkIdsFor(found));
      const matcher = new TargetMatcher(connection.target);
      const linksToPut: ObjectLink[] = [];
      const linksToForget: { type: DirectoryObjectType; sourceId: string }[] = [];
      for (const object of [...found.filter((o) => o.type === 'User'), ...found.filter((o) => o.type === 'Group')]) {
        const plan = planObject(object, { flows: connection.flows, links: known, skipOutOfScopeDeletions: connection.skipOutOfScopeDeletions });
        if (plan.kind === 'skip') {
          step('EntrySynchronizationSkip', 'Export', 'skipped', `${label(object)} needs no change in the target (in step, disabled, or not mapped).`, { SkipReason: 'RedundantExport' });
          continue;
        }
        if (plan.kind === 'error') {
          step('EntryExport', 'Export', 'failure', `${label(object)} could not be mapped: ${plan.message}`);
          continue;
        }
        try {
          const link = await applyPlan(plan, connection.target, matcher);
          if (link) {
            linksToPut.push(link);
            known.set(linkId(link.type, link.sourceId), link);
          } else {
            linksToForget.push({ type: object.type, sourceId: object.id });
          }
          const added = plan.kind === 'delete' ? 0 : plan.members.add.length;
          step(EXPORT_STEP[plan.kind], 'Export', 'success', `${label(object)}: ${plan.kind} in the target${link ? ` (id ${link.targetId})` : ''}.`, {
            ...(link ? { TargetId: link.targetId } : {}),
            ...(added ? { MembersAdded: String(added) } : {}),
          });
        } catch (error) {
          if (!(error instanceof ScimRequestError || error instanceof TargetUnavailableError)) throw error;
          step(EXPORT_STEP[plan.kind], 'Export', 'failure', `${label(object)}: ${error.message}`);
        }
      }
      if (linksToPut.length > 0) await deps.links.putMany(scope, linksToPut);
      if (linksToForget.length > 0) await deps.links.deleteMany(scope, linksToForget);

      const statuses = steps.map((entry) => entry.status);
      const result = statuses.includes('failure') ? 'Failure' : statuses.some((status, i) => status === 'success' && steps[i]!.type === 'Export') ? 'Success' : 'Skipped';
      return { outcome: 'done', result, steps, startTime, endTime: now(), changeId: randomUUID() };
    } finally {
      await connection.close();
    }
  };
}
