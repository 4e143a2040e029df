/** Describes the machine a profile was measured on (recorded in every profile file). */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import type { z } from 'zod';
import { cpuIsa, isaKey } from '../../functions/engine/cpu-isa.js';
import type { MachineSchema } from '../schema.js';

export type Machine = z.infer<typeof MachineSchema>;

/** Version of the installed onnxruntime-node package (read from its package.json). */
export function onnxruntimeVersion(): string {
  const require = createRequire(import.meta.url);
  const pkgPath = require.resolve('onnxruntime-node/package.json');
  return (JSON.parse(readFileSync(pkgPath, 'utf8')) as { version: string }).version;
}

/** Node's arch names mapped to the catalog's ('x64' -> 'x86_64'), so profiles and instance types compare. */
export function catalogArch(nodeArch: string = process.arch): string {
  if (nodeArch === 'x64') return 'x86_64';
  return nodeArch;
}

export function describeMachine(nowMs: number = Date.now()): Machine {
  const cpus = os.cpus();
  return {
    cpuModel: cpus[0]?.model.trim() || 'unknown',
    cores: os.availableParallelism(),
    memoryGib: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    arch: catalogArch(),
    os: `${os.type()} ${os.release()}`,
    node: process.version,
    onnxruntime: onnxruntimeVersion(),
    measuredAt: new Date(nowMs).toISOString(),
    loadAverage1m: Math.round((os.loadavg()[0] ?? 0) * 100) / 100,
    isa: isaKey(cpuIsa()),
  };
}
