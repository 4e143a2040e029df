/**
 * Preloaded (`node --import tsx --import <this file> <entry>`) into every child process the local
 * VM fleet starts: if the controller that started it dies without cleaning up (SIGKILL, crash),
 * the child is re-parented and exits, so no "VM" outlives its fleet.
 */
import { watchParent } from './watch-parent.js';

watchParent(() => process.exit(0));
