import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { DeployedEnv } from '../../functions/config/env.ts';

/** Repository root: entry files and the lock file are resolved from here, whatever the working directory. */
export const projectRoot = fileURLToPath(new URL('../..', import.meta.url));

/** Every variable a deployed Lambda may read (functions/config/env.ts), as CloudFormation strings. */
export type FunctionEnvironment = { [K in keyof DeployedEnv]?: string };

/**
 * Packages a bundle imports only on first need (`await import(name)`), left out of it so that they are not loaded
 * at init: each is shipped beside a bundle that imports it, as `node_modules/<name>` holding the package's
 * `package.json`, its licence and its ESM build minified, where Node resolves the import from `index.mjs`. A package
 * named here must be one ESM file without dependencies. re2js (about 150 KB minified) runs tenants' regular
 * expressions (functions/domain/mapping/tenant-regex.ts), which most mappings and filters do not have.
 */
export const lazyModules: Record<string, { esm: string; license: string }> = {
  re2js: { esm: 'build/index.js', license: 'LICENSE' },
};

/** Node.js 24, the functions' runtime. */
const target = 'node24';

const shellQuoted = (value: string) => `'${value.replaceAll("'", "'\\''")}'`;

/** The shell command that ships `name` beside the bundle in `outputDir` when the bundle imports it. */
function shipLazyModule(name: string, inputDir: string, outputDir: string): string {
  const { esm, license } = lazyModules[name]!;
  const from = path.join(inputDir, 'node_modules', name);
  const to = path.join(outputDir, 'node_modules', name);
  const toEsm = path.join(to, esm);
  const ship = [
    `mkdir -p ${shellQuoted(path.join(toEsm, '..'))}`,
    `cp ${shellQuoted(path.join(from, 'package.json'))} ${shellQuoted(path.join(from, license))} ${shellQuoted(to)}`,
    `npx --no-install esbuild ${shellQuoted(path.join(from, esm))} --minify --format=esm --target=${target} --log-level=warning --outfile=${shellQuoted(toEsm)}`,
  ];
  return `grep -qF ${shellQuoted(`import("${name}")`)} ${shellQuoted(path.join(outputDir, 'index.mjs'))} || exit 0; ${ship.join(' && ')}`;
}

/**
 * How every function is bundled: by the local esbuild (never Docker) to minified ESM with source maps; `@aws-sdk/*`
 * stays out (NodejsFunction's default: the runtime has it), and so do {@link lazyModules}, shipped beside the
 * bundle. bench/bundles.ts builds with the same options.
 */
export const serviceBundling = {
  forceDockerBundling: false,
  format: nodejs.OutputFormat.ESM,
  target,
  mainFields: ['module', 'main'],
  minify: true,
  sourceMap: true,
  sourcesContent: false,
  externalModules: ['@aws-sdk/*', ...Object.keys(lazyModules)],
  // CommonJS dependencies bundled into ESM still call require() for Node built-ins.
  banner: "import { createRequire } from 'node:module';const require = createRequire(import.meta.url);",
  commandHooks: {
    beforeBundling: () => [],
    beforeInstall: () => [],
    afterBundling: (inputDir: string, outputDir: string) => Object.keys(lazyModules).map((name) => shipLazyModule(name, inputDir, outputDir)),
  },
} satisfies nodejs.BundlingOptions;

/** Where Lambda finds {@link execWrapperSource} in the function's package. */
const EXEC_WRAPPER_PATH = '/var/task/exec-wrapper.sh';
/** The exec wrapper a function with {@link ProcessSettings.nodeFlags} is shipped with, relative to the root. */
export const execWrapperSource = 'lib/constructs/exec-wrapper.sh';

/** Settings of a function's Node.js process rather than of its code. */
export interface ProcessSettings {
  /**
   * V8 and Node.js flags given after those of Lambda's runtime, so they win over its heap sizes (which NODE_OPTIONS
   * cannot override: flags on the command line take precedence). Given through an exec wrapper
   * ({@link execWrapperSource}).
   */
  nodeFlags?: string[];
  /** Variables the process reads as it starts (e.g. glibc's `MALLOC_ARENA_MAX`): Lambda passes them to it. */
  environment?: Record<string, string>;
}

/** Props of {@link ServiceFunction}. */
export interface ServiceFunctionProps {
  /** Entry file relative to the repository root, e.g. `functions/api/jobs-get.ts`; it exports `handler`. */
  entry: string;
  /** Powertools service name: the `service` key of every log line and the `service` dimension of every metric. */
  serviceName: string;
  environment: FunctionEnvironment;
  /** How the function's Node.js process is started, beyond what Lambda's runtime does by itself. */
  process?: ProcessSettings;
  timeout: Duration;
  memorySize: number;
  description: string;
  /** A fixed name, only for a function that must know its own ARN before it exists (the sync worker). */
  functionName?: string;
  /**
   * Reserved concurrency: only the sync worker has one. The API functions share what the account has left (its
   * limit, 1,000 by default, less the worker's reservation; Lambda keeps at least 100 unreserved), so no burst of
   * the worker can take it from them, and no API function's idle reservation is taken from the others.
   */
  reservedConcurrentExecutions?: number;
}

/**
 * One Lambda function the way this service runs all of them: Node.js 24 on arm64, bundled as {@link serviceBundling}
 * says, JSON logs into its own log group with a retention, and its own role that
 * holds nothing but the right to write that log group. Callers add every other permission explicitly.
 */
export class ServiceFunction extends Construct {
  readonly function: nodejs.NodejsFunction;
  /** The entry file, relative to the repository root, and the Powertools service name (as in the props). */
  readonly entry: string;
  readonly serviceName: string;
  readonly role: iam.Role;
  readonly logGroup: logs.LogGroup;
  readonly memorySize: number;
  /** The variables of the function's environment that set up its process (NODE_OPTIONS, the exec wrapper, …). */
  readonly processEnvironment: Record<string, string>;

  constructor(scope: Construct, id: string, props: ServiceFunctionProps) {
    super(scope, id);
    this.entry = props.entry;
    this.serviceName = props.serviceName;
    this.memorySize = props.memorySize;
    const nodeFlags = props.process?.nodeFlags ?? [];
    this.processEnvironment = {
      NODE_OPTIONS: '--enable-source-maps',
      ...(nodeFlags.length > 0 ? { AWS_LAMBDA_EXEC_WRAPPER: EXEC_WRAPPER_PATH, EXEC_WRAPPER_NODE_FLAGS: nodeFlags.join(' ') } : {}),
      ...props.process?.environment,
    };

    this.logGroup = new logs.LogGroup(this, 'Logs', {
      retention: logs.RetentionDays.ONE_MONTH,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    // An inline grant on this log group instead of AWSLambdaBasicExecutionRole, which may write any log group.
    this.role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: `Runs ${props.serviceName}`,
    });
    this.logGroup.grantWrite(this.role);

    this.function = new nodejs.NodejsFunction(this, 'Function', {
      functionName: props.functionName,
      description: props.description,
      entry: `${projectRoot}${props.entry}`,
      handler: 'handler',
      projectRoot,
      depsLockFilePath: `${projectRoot}package-lock.json`,
      runtime: lambda.Runtime.NODEJS_24_X,
      architecture: lambda.Architecture.ARM_64,
      memorySize: props.memorySize,
      timeout: props.timeout,
      ...(props.reservedConcurrentExecutions === undefined ? {} : { reservedConcurrentExecutions: props.reservedConcurrentExecutions }),
      role: this.role,
      logGroup: this.logGroup,
      loggingFormat: lambda.LoggingFormat.JSON,
      applicationLogLevelV2: lambda.ApplicationLogLevel.INFO,
      systemLogLevelV2: lambda.SystemLogLevel.WARN,
      environment: {
        ...props.environment,
        POWERTOOLS_SERVICE_NAME: props.serviceName,
        POWERTOOLS_LOG_LEVEL: 'INFO',
        ...this.processEnvironment,
      },
      bundling:
        nodeFlags.length > 0
          ? {
              ...serviceBundling,
              // Into the package's root, which Lambda unpacks to /var/task; the zip keeps the file's mode (executable).
              commandHooks: {
                beforeBundling: () => [],
                beforeInstall: () => [],
                afterBundling: (inputDir: string, outputDir: string) => [
                  ...serviceBundling.commandHooks.afterBundling(inputDir, outputDir),
                  `cp "${inputDir}/${execWrapperSource}" "${outputDir}/${path.basename(EXEC_WRAPPER_PATH)}"`,
                ],
              },
            }
          : serviceBundling,
    });
  }
}
