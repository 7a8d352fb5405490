/**
 * Bundles one entry as the stack bundles every function: esbuild with lib/constructs/service-function.ts's
 * `serviceBundling` options, `@aws-sdk/*` (NodejsFunction's default on Node.js 18 and later: the runtime provides AWS
 * SDK v3) and the lazy modules left out. Write the output inside the repository, so that the bundle finds the packages it leaves out.
 */
import { build } from 'esbuild';
import { serviceBundling } from '../../lib/constructs/service-function.ts';

export function bundleAsDeployed(entry: string, outfile: string) {
  return build({
    entryPoints: [entry],
    outfile,
    bundle: true,
    platform: 'node',
    format: serviceBundling.format,
    target: serviceBundling.target,
    mainFields: serviceBundling.mainFields,
    minify: serviceBundling.minify,
    sourcemap: serviceBundling.sourceMap,
    sourcesContent: serviceBundling.sourcesContent,
    banner: { js: serviceBundling.banner },
    // The runtime provides AWS SDK v3; the lazy modules are shipped beside the bundle.
    external: serviceBundling.externalModules,
    metafile: true,
    logLevel: 'error',
  });
}
