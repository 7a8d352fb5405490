/** The modeled errors of the Scheduler API, each with the HTTP status AWS answers it with. */
const ERROR_STATUS = {
  ValidationException: 400,
  SerializationException: 400,
  ResourceNotFoundException: 404,
  UnknownOperationException: 404,
  ConflictException: 409,
  ThrottlingException: 429,
} as const;

export type SchedulerErrorType = keyof typeof ERROR_STATUS;

/** An error the emulator answers as AWS does: status, `x-amzn-errortype` and a `{"Message"}` body. */
export class SchedulerApiError extends Error {
  readonly statusCode: number;

  constructor(
    readonly type: SchedulerErrorType,
    message: string,
  ) {
    super(message);
    this.name = 'SchedulerApiError';
    this.statusCode = ERROR_STATUS[type];
  }
}
