/**
 * The CPU instruction-set class that decides which int8 kernels onnxruntime (MLAS) runs, and so
 * which exact numbers a quantized model produces. Two CPUs of the same class give the same answers;
 * across classes a QLinear/QDQ model's scores move (measured: MobileNetV2-int8 up to 0.30 between
 * AVX2 and AVX-512 VNNI, because AVX2's vpmaddubsw saturates u8*s8 pair sums in int16 and VNNI's
 * vpdpbusd accumulates in int32). EC2 c5 (Cascade Lake) / c6i / c7i have VNNI, Graviton has
 * dot-product and i8mm: a VM and a Lambda function can therefore answer one request differently.
 */
import { readFileSync } from 'node:fs';
import { arch as osArch } from 'node:os';

export interface CpuIsa {
  /** 'x86_64' or 'arm64' (catalog names). */
  arch: string;
  /**
   * The class that selects int8 kernels, most capable first, e.g. 'avx512-vnni+amx', 'avx512-vnni',
   * 'avx-vnni', 'avx512', 'avx2', 'sse4' (x86_64) or 'i8mm', 'dotprod', 'neon' (arm64).
   */
  level: string;
  /** The flags the level was derived from (only the ones that matter, sorted). */
  flags: string[];
}

/** `${arch}/${level}`: the key reference answers are recorded under. */
export function isaKey(isa: CpuIsa): string {
  return `${isa.arch}/${isa.level}`;
}

const X86_FLAGS = ['avx2', 'avx512f', 'avx512_vnni', 'avx_vnni', 'amx_int8', 'amx_tile', 'sse4_1'] as const;
const ARM_FLAGS = ['asimd', 'asimddp', 'i8mm', 'sve'] as const;

/** Pure: the ISA class from an arch name and a CPU flag list (as in /proc/cpuinfo). */
export function classifyIsa(nodeArch: string, cpuFlags: readonly string[]): CpuIsa {
  const has = new Set(cpuFlags);
  if (nodeArch === 'arm64') {
    const flags = ARM_FLAGS.filter((f) => has.has(f));
    const level = has.has('i8mm') ? 'i8mm' : has.has('asimddp') ? 'dotprod' : 'neon';
    return { arch: 'arm64', level, flags };
  }
  if (nodeArch === 'x64') {
    const flags = X86_FLAGS.filter((f) => has.has(f));
    let level = 'sse4';
    if (has.has('avx2')) level = 'avx2';
    if (has.has('avx512f')) level = 'avx512';
    if (has.has('avx_vnni') && !has.has('avx512_vnni')) level = 'avx-vnni';
    if (has.has('avx512_vnni')) level = 'avx512-vnni';
    if (has.has('amx_int8') && level.includes('vnni')) level = `${level}+amx`;
    return { arch: 'x86_64', level, flags };
  }
  return { arch: nodeArch, level: 'unknown', flags: [] };
}

/** Flags of the first CPU in /proc/cpuinfo ('flags' on x86, 'Features' on arm64); [] elsewhere. */
export function readCpuFlags(cpuinfoPath = '/proc/cpuinfo'): string[] {
  let text: string;
  try {
    text = readFileSync(cpuinfoPath, 'utf8');
  } catch {
    return [];
  }
  const line = text.split('\n').find((l) => /^(flags|Features)\s*:/.test(l));
  return line ? line.slice(line.indexOf(':') + 1).trim().split(/\s+/) : [];
}

let cached: CpuIsa | undefined;

/** This machine's ISA class (read once per process). */
export function cpuIsa(): CpuIsa {
  cached ??= classifyIsa(osArch(), readCpuFlags());
  return cached;
}
