/**
 * Secrets the operator configured for the whole deployment (not a tenant's), such as the source app
 * registration's client secret, read by id. Implementations may cache a value for a while, but never a failure.
 */
export interface DeploymentSecrets {
  read(secretId: string): Promise<string>;
}
