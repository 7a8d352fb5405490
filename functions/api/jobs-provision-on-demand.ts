import { BadRequestError } from '../errors/service-errors.ts';
import { JobNotFoundError } from '../domain/job-errors.ts';
import { graphHandler } from '../http/graph-handler.ts';
import { getJobCommands, getServices, jobExists } from '../config/services.ts';
import { provisionOnDemandBodySchema } from '../schemas/requests.ts';
import type { StringKeyStringValuePair } from '../schemas/graph-responses.ts';

/** Entra's limits: a handful of objects, a group with at most five members. */
const MAX_SUBJECTS = 5;

/**
 * Provisions the given users (or a group with up to five members) now and answers with Graph's
 * stringKeyStringValuePair whose key and value are JSON strings: the result, and the steps taken.
 */
export const handler = graphHandler(
  { access: 'write', jobExists, body: provisionOnDemandBodySchema },
  async ({ principal, servicePrincipalId, jobId, body }) => {
    const commands = getJobCommands();
    const { worker } = getServices();
    const key = { tenantId: principal.tenantId, servicePrincipalId, jobId };
    const ruleIds = new Set((await commands.schema(key)).synchronizationRules.map((rule) => rule.id));
    const unknownRule = body.parameters.find((parameter) => !ruleIds.has(parameter.ruleId));
    if (unknownRule) {
      throw new BadRequestError(`Unknown ruleId '${unknownRule.ruleId}'; the job's schema has ${[...ruleIds].join(', ')}.`);
    }
    const subjects = body.parameters.flatMap((parameter) =>
      parameter.subjects.map((subject) => ({
        objectId: subject.objectId,
        objectTypeName: subject.objectTypeName,
        members: subject.objectTypeName === 'Group' ? (subject.links?.members ?? []).map((member) => member.objectId) : [],
      })),
    );
    if (subjects.length > MAX_SUBJECTS) throw new BadRequestError(`At most ${MAX_SUBJECTS} subjects can be provisioned on demand at once.`);

    const outcome = await worker.provisionOnDemand({ ...key, subjects });
    if (outcome.outcome === 'jobNotFound') throw new JobNotFoundError(jobId);
    if (outcome.outcome === 'notReady') throw new BadRequestError(`The job cannot provision yet: ${outcome.message}`);
    const first = subjects[0]!;
    return {
      statusCode: 200,
      body: {
        '@odata.type': '#microsoft.graph.stringKeyStringValuePair',
        key: JSON.stringify({ result: outcome.result, details: {} }),
        value: JSON.stringify({
          changeId: outcome.changeId,
          startTime: outcome.startTime,
          endTime: outcome.endTime,
          provisioningSteps: outcome.steps,
          statusInfo: { status: outcome.result.toLowerCase() },
          sourceIdentity: { id: first.objectId, type: first.objectTypeName },
        }),
      } satisfies StringKeyStringValuePair,
    };
  },
);
