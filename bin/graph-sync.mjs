#!/usr/bin/env node
// The graph-sync command: runs cli/main.ts through tsx's loader, registered in this process (no second node).
import { register } from 'tsx/esm/api';

register();
const { processIo, runCli } = await import('../cli/main.ts');
// `graph-sync logs … | head` closes the pipe early: that is the reader's choice, not an error.
process.stdout.on('error', (error) => {
  if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw error;
});
const interrupt = new AbortController();
process.once('SIGINT', () => interrupt.abort());
process.exitCode = await runCli(process.argv.slice(2), processIo(interrupt.signal));
