/** Subcommand registry: one register() line per subcommand module. */
import type { Command } from 'commander';
import { register as registerModels } from './models.js';
import { register as registerSimulate } from './simulate.js';
import { register as registerReplay } from './replay.js';
import { register as registerSweep } from './sweep.js';
import { register as registerReclaim } from './reclaim.js';

export function registerCommands(_program: Command): void {
  // register(program) calls for: models (models.ts), simulate (simulate.ts), replay (replay.ts), sweep (sweep.ts), reclaim (reclaim.ts)
  registerModels(_program);
  registerSimulate(_program);
  registerReplay(_program);
  registerSweep(_program);
  registerReclaim(_program);
}
