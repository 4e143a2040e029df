/**
 * `spillway` command line. Each subcommand lives in its own file under commands/ and exports
 * `register(program)`. Run as `npx spillway ...` (bin/spillway.mjs) or `npm run spillway -- ...`.
 */
import { Command } from 'commander';
import { silenceSdkNodeVersionNotice } from '../node-notices.js';
import { registerCommands } from './commands/index.js';

silenceSdkNodeVersionNotice();

const program = new Command();
program
  .name('spillway')
  .description('Serverless-plus-VM hybrid ML inference serving: VMs for the steady load, Lambda for the spill-over.')
  .showHelpAfterError();
registerCommands(program);

program.parseAsync(process.argv).catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : String(err));
  process.exitCode = 1;
});
