import {
  CreateSchedule$,
  DeleteSchedule$,
  GetSchedule$,
  ListSchedules$,
  UpdateSchedule$,
} from '@aws-sdk/client-scheduler';
import { z } from 'zod';

/**
 * The HTTP bindings of the emulated operations, read from the installed SDK's own Smithy schemas, so the emulator
 * answers exactly the method, path, labels and query names that `SchedulerClient` sends.
 */
const OPERATIONS = {
  CreateSchedule: CreateSchedule$,
  GetSchedule: GetSchedule$,
  UpdateSchedule: UpdateSchedule$,
  DeleteSchedule: DeleteSchedule$,
  ListSchedules: ListSchedules$,
} as const;

export type OperationName = keyof typeof OPERATIONS;

export interface WireRoute {
  operation: OperationName;
  method: string;
  /** Matches the path and captures its labels in `labels` order. */
  path: RegExp;
  labels: string[];
  /** Query parameter name → input member name. */
  query: Map<string, string>;
}

export interface MatchedRequest {
  route: WireRoute;
  /** Label and query members of the input, as raw strings; body members come from the JSON body. */
  members: Record<string, string>;
}

const schemaRef = z.union([z.number(), z.custom<() => unknown>((value) => typeof value === 'function')]);
const operationSchema = z.tuple([
  z.literal(9),
  z.string(),
  z.string(),
  z.object({ http: z.tuple([z.string(), z.string(), z.number()]) }),
  schemaRef,
  schemaRef,
]);
const structureSchema = z
  .tuple([z.literal(3), z.string(), z.string(), z.unknown(), z.array(z.string()), z.array(z.unknown())])
  .rest(z.unknown());
/** A member is a bare schema reference, or `[reference, traits]`; only `httpQuery` matters for routing. */
const memberQueryName = z.union([
  z.tuple([schemaRef, z.object({ httpQuery: z.string() }).loose()]).transform(([, traits]) => traits.httpQuery),
  z.unknown().transform(() => undefined),
]);

function routeOf(operation: OperationName): WireRoute {
  const [, , , { http }, input] = operationSchema.parse(OPERATIONS[operation]);
  const [method, template] = http;
  const [, , , , memberNames, memberSchemas] = structureSchema.parse(typeof input === 'function' ? input() : input);
  const query = new Map<string, string>();
  memberNames.forEach((member, index) => {
    const parameter = memberQueryName.parse(memberSchemas[index]);
    if (parameter) query.set(parameter, member);
  });
  const labels: string[] = [];
  const pattern = template.replace(/\{(\w+)\}|[^{]+/g, (part, label: string | undefined) => {
    if (label === undefined) return part.replace(/[.*+?^$()|[\]\\]/g, '\\$&');
    labels.push(label);
    return '([^/]+)';
  });
  return { operation, method, path: new RegExp(`^${pattern}$`), labels, query };
}

const WIRE_ROUTES: readonly WireRoute[] = (Object.keys(OPERATIONS) as OperationName[]).map(routeOf);

/** Finds the operation a request addresses and collects its label and query members. */
export function matchRequest(method: string, url: URL): MatchedRequest | null {
  for (const route of WIRE_ROUTES) {
    if (route.method !== method) continue;
    const match = route.path.exec(url.pathname);
    if (!match) continue;
    const members: Record<string, string> = {};
    route.labels.forEach((label, index) => {
      members[label] = decodeURIComponent(match[index + 1] ?? '');
    });
    for (const [parameter, member] of route.query) {
      const value = url.searchParams.get(parameter);
      if (value !== null) members[member] = value;
    }
    return { route, members };
  }
  return null;
}
