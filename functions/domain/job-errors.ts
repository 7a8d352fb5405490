/**
 * What the job use cases refuse, named by meaning. They carry the facts, not an HTTP status: the HTTP edge
 * (http/graph-error.ts) maps each to its Graph error, and a worker or a test can branch on the class.
 */
export abstract class JobCommandError extends Error {
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

/** No such job for this tenant and service principal (it never existed, was deleted, or is someone else's). */
export class JobNotFoundError extends JobCommandError {
  constructor(readonly jobId: string) {
    super(`Job ${jobId} does not exist`);
  }
}

/** A value given to a job command that no job can take. */
export abstract class InvalidJobInputError extends JobCommandError {}

export class UnknownTemplateError extends InvalidJobInputError {
  constructor(readonly templateId: string) {
    super(`Unknown templateId '${templateId}'`);
  }
}

export class InvalidIntervalError extends InvalidJobInputError {
  constructor(readonly interval: string) {
    super(`Invalid interval '${interval}'`);
  }
}

export class InvalidResetScopeError extends InvalidJobInputError {
  constructor(readonly resetScope: string | null | undefined) {
    super(`Invalid resetScope '${resetScope}'`);
  }
}

/** A synchronization schema the engine could not run; `problems` says why, one sentence each. */
export class UnusableSchemaError extends InvalidJobInputError {
  constructor(readonly problems: readonly string[]) {
    super(`The schema cannot be used: ${problems.join(' ')}`);
  }
}

/** The job exists but cannot start (or restart) yet: target secrets it needs are not stored. */
export class JobCannotStartError extends JobCommandError {
  constructor(
    readonly servicePrincipalId: string,
    readonly missingSecrets: readonly string[],
  ) {
    super(`The job cannot start: the secrets ${missingSecrets.join(', ')} are not set`);
  }
}
