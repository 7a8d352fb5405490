import type { ObjectRef } from '../ports/link-store.ts';
import type { TargetExchange } from '../ports/scim-target.ts';
import type { ProvisioningLogStep, ProvisioningObjectSummary } from '../schemas/provisioning-log.ts';
import type { MappedObject } from './mapping/attribute-mapping.ts';
import type { ObjectPlan, SkipReason } from './sync-plan.ts';

/** One target attribute a change set, before and after (undefined: not set). */
export interface ValueChange {
  attribute: string;
  oldValue: unknown;
  newValue: unknown;
}

/** What a run did with one object, as the provisioning logs record it. */
export interface LoggedOutcome {
  ref: ObjectRef;
  action: ObjectPlan['kind'];
  skipReason?: SkipReason;
  targetId?: string;
  /** The target's refusal (or the mapping's error), when the object was escrowed. */
  error?: string;
  exchange?: TargetExchange;
  changes?: ValueChange[];
  membersAdded?: number;
  membersRemoved?: number;
  durationMs?: number;
}

/** Who or what a record says started the change. */
export type Initiator = ProvisioningObjectSummary['initiatedBy'];

export interface RecordContext {
  tenantId: string;
  servicePrincipalId: string;
  jobId: string;
  cycleId: string;
  initiatedBy: Initiator;
  activityDateTime: string;
  /** A fresh id per record (changeId, id). */
  newId: () => string;
}

/** Skips worth a record: the object changed and was left alone for a reason a user should see. */
const LOGGED_SKIPS: ReadonlySet<SkipReason> = new Set(['outOfScope', 'notEffectivelyEntitled', 'ignoredByInputFilter', 'disabledNotProvisioned', 'actionNotAllowed']);

const SKIP_DESCRIPTIONS: Record<SkipReason, string> = {
  notMapped: 'no object mapping for its type',
  inStep: 'the target already holds these values',
  outOfScope: 'it does not pass the scoping filter',
  notEffectivelyEntitled: 'it is not assigned to the application',
  ignoredByInputFilter: 'an input filter leaves it out',
  disabledNotProvisioned: 'it is disabled and has no account to update',
  notProvisioned: 'it was never provisioned',
  actionNotAllowed: 'the mapping does not allow this action',
};

/** The target attributes whose values differ between what was exported and what is sent now. */
export function valueChanges(before: MappedObject, after: MappedObject): ValueChange[] {
  const changes: ValueChange[] = [];
  for (const attribute of new Set([...Object.keys(before), ...Object.keys(after)])) {
    if (!sameJson(before[attribute], after[attribute])) changes.push({ attribute, oldValue: before[attribute], newValue: after[attribute] });
  }
  return changes;
}

/** Whether two values serialise alike; strings and booleans (most mapped values) are compared without serialising. */
function sameJson(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  const scalar = (value: unknown) => value === undefined || typeof value === 'string' || typeof value === 'boolean';
  if (scalar(a) && scalar(b)) return false;
  return JSON.stringify(a) === JSON.stringify(b);
}

function text(value: unknown): string | null {
  if (value === undefined || value === null) return null;
  if (typeof value === 'boolean') return value ? 'True' : 'False';
  return typeof value === 'string' ? value : JSON.stringify(value);
}

function isDisable(outcome: LoggedOutcome): boolean {
  return (outcome.changes ?? []).some((change) => change.attribute === 'active' && /^false$/i.test(String(change.newValue)));
}

function provisioningAction(outcome: LoggedOutcome): ProvisioningObjectSummary['provisioningAction'] {
  switch (outcome.action) {
    case 'create':
    case 'delete':
      return outcome.action;
    case 'update':
      return isDisable(outcome) ? 'disable' : 'update';
    default:
      return outcome.membersAdded || outcome.membersRemoved ? 'update' : 'other';
  }
}

/** The Graph error code of a refusal, by the target's status (Entra's names where it has one). */
function errorCode(outcome: LoggedOutcome): string {
  const status = outcome.exchange?.status;
  if (status === undefined) return outcome.action === 'error' ? 'MappingFailure' : 'EntrySynchronizationError';
  if (status === 409) return 'EntryConflict';
  if (status === 404) return 'InvalidAnchor';
  if (status === 400 || status === 422) return 'UnprocessableEntity';
  return 'WebExceptionProtocolError';
}

/**
 * The provisioning-log record of one object's outcome, or null when there is nothing to tell (an object already in
 * step, a type not mapped). A refusal's export step carries the request and the target's answer.
 */
export function provisioningRecord(outcome: LoggedOutcome, name: string, context: RecordContext): ProvisioningObjectSummary | null {
  const skipped = outcome.action === 'skip' && !outcome.membersAdded && !outcome.membersRemoved;
  if (skipped && !(outcome.skipReason && LOGGED_SKIPS.has(outcome.skipReason)) && outcome.error === undefined) return null;
  const type = outcome.ref.type;
  const failed = outcome.error !== undefined;
  const action = provisioningAction(outcome);
  const steps: ProvisioningLogStep[] = [
    step('EntryImport', 'import', 'success', `Received ${type} '${name}' from the directory`),
  ];
  if (skipped && outcome.skipReason) {
    steps.push(step('EntrySynchronizationSkip', 'scoping', 'skipped', `${type} '${name}' was skipped: ${SKIP_DESCRIPTIONS[outcome.skipReason]}`, { SkipReason: outcome.skipReason }));
  } else {
    steps.push(step('EntrySynchronizationScoping', 'scoping', 'success', `${type} '${name}' is in scope`));
    if (outcome.action === 'error') steps.push(step('EntrySynchronizationError', 'processing', 'failure', outcome.error ?? 'The mapping failed'));
    else steps.push(exportStep(outcome, type, name, action));
  }
  const members = outcome.membersAdded || outcome.membersRemoved ? [{ displayName: 'members', oldValue: null, newValue: `added ${outcome.membersAdded ?? 0}, removed ${outcome.membersRemoved ?? 0}` }] : [];
  const changeId = context.newId();
  return {
    id: changeId,
    activityDateTime: context.activityDateTime,
    tenantId: context.tenantId,
    jobId: context.jobId,
    cycleId: context.cycleId,
    changeId,
    provisioningAction: action,
    durationInMilliseconds: Math.max(0, Math.round(outcome.durationMs ?? 0)),
    initiatedBy: context.initiatedBy,
    servicePrincipal: { id: context.servicePrincipalId, displayName: '' },
    sourceSystem: { id: '', displayName: 'Microsoft Entra ID', details: {} },
    targetSystem: { id: context.servicePrincipalId, displayName: 'SCIM target', details: {} },
    sourceIdentity: { id: outcome.ref.sourceId, displayName: name, identityType: type, details: {} },
    targetIdentity: { id: outcome.targetId ?? '', displayName: '', identityType: type, details: {} },
    modifiedProperties: [...(outcome.changes ?? []).map((change) => ({ displayName: change.attribute, oldValue: text(change.oldValue), newValue: text(change.newValue) })), ...members],
    provisioningSteps: steps,
    provisioningStatusInfo: {
      status: failed ? 'failure' : skipped ? 'skipped' : 'success',
      errorInformation: failed
        ? {
            errorCode: errorCode(outcome),
            reason: outcome.error ?? '',
            additionalDetails: outcome.exchange ? `The target answered ${outcome.exchange.status}: ${outcome.exchange.responseBody}` : null,
            errorCategory: 'nonServiceFailure',
            recommendedAction: null,
          }
        : null,
    },
  };
}

function step(name: string, provisioningStepType: ProvisioningLogStep['provisioningStepType'], status: ProvisioningLogStep['status'], description: string, details: Record<string, string> = {}): ProvisioningLogStep {
  return { name, provisioningStepType, status, description, details };
}

const EXPORT_NAMES: Record<ProvisioningObjectSummary['provisioningAction'], string> = {
  create: 'EntryExportAdd',
  update: 'EntryExportUpdate',
  disable: 'EntryExportUpdate',
  delete: 'EntryExportDelete',
  other: 'EntryExportUpdate',
};

function exportStep(outcome: LoggedOutcome, type: string, name: string, action: ProvisioningObjectSummary['provisioningAction']): ProvisioningLogStep {
  const verb = { create: 'create', update: 'update', disable: 'disable', delete: 'delete', other: 'update' }[action];
  if (outcome.error === undefined) return step(EXPORT_NAMES[action], 'export', 'success', `${type} '${name}' was ${verb === 'create' ? 'created' : `${verb}d`} in the target`, { ReportableIdentifier: name });
  const exchange = outcome.exchange;
  const details: Record<string, string> = { ReportableIdentifier: name };
  if (exchange) {
    details.Request = `${exchange.method} ${exchange.path}`;
    if (exchange.requestBody !== '') details.RequestBody = exchange.requestBody;
    details.ResponseStatus = String(exchange.status);
    details.ResponseBody = exchange.responseBody;
  }
  return step(EXPORT_NAMES[action], 'export', 'failure', `Failed to ${verb} ${type} '${name}' in the target: ${outcome.error}`, details);
}
