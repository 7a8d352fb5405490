/** A running SCIMMY service provider, with read access to what it stores. */
export interface ScimmyScimServer {
  /** Base URL of the SCIM endpoints: `http://127.0.0.1:<port>/scim/v2`. */
  url: string;
  users(): Record<string, unknown>[];
  groups(): Record<string, unknown>[];
  close(): Promise<void>;
}

/** Starts SCIMMY (a third-party SCIM 2.0 implementation) on an ephemeral loopback port, empty. */
export function startScimmyScimServer(options: { token: string }): Promise<ScimmyScimServer>;
