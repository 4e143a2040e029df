#!/usr/bin/env node
/**
 * Copies the native runtime dependencies of the inference engine (onnxruntime-node and sharp,
 * which esbuild cannot bundle) from the local node_modules into a bundle directory, pruned to
 * one target platform. Nothing is downloaded and `npm install` is never run: bundling works
 * offline. Pruning matters: onnxruntime-node ships binaries for 3 OSes x 2 CPUs (~288 MB on
 * disk); linux/x64 alone is ~40 MB, keeping the Lambda bundle far below the 250 MB unzipped limit.
 *
 * Usage: node infra/bundling/copy-native.mjs <repoRoot> <outDir> <x64|arm64>
 */
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Packages copied whole (small, pure JS) besides the pruned native ones. */
const PURE_DEPS = ['onnxruntime-common', 'detect-libc', 'semver', '@img/colour'];

export function copyNativeModules(repoRoot, outDir, arch) {
  if (arch !== 'x64' && arch !== 'arm64') throw new Error(`copy-native: arch must be x64 or arm64, got '${arch}'`);
  const nm = join(repoRoot, 'node_modules');
  const outNm = join(outDir, 'node_modules');
  const copied = [];
  const copyPkg = (name, filter) => {
    const src = join(nm, name);
    if (!existsSync(src)) throw new Error(`copy-native: ${src} is missing (run npm ci first)`);
    cpSync(src, join(outNm, name), { recursive: true, dereference: true, filter });
    copied.push(name);
  };

  // onnxruntime-node: JS + only bin/napi-v6/linux/<arch>.
  const ortBin = join(nm, 'onnxruntime-node', 'bin', 'napi-v6');
  const keep = join(ortBin, 'linux', arch);
  if (!existsSync(keep)) throw new Error(`copy-native: onnxruntime-node has no linux/${arch} binary at ${keep}`);
  copyPkg('onnxruntime-node', (src) => {
    if (!src.startsWith(ortBin)) return !src.includes(`${join('onnxruntime-node', 'script')}`);
    const rel = src.slice(ortBin.length);
    const wanted = `/linux/${arch}`;
    return rel === '' || rel === '/linux' || rel.startsWith(wanted);
  });

  // sharp: JS + the platform package with libvips (installed only for the host platform).
  const sharpPlatform = [`@img/sharp-linux-${arch}`, `@img/sharp-libvips-linux-${arch}`];
  for (const p of sharpPlatform) {
    if (!existsSync(join(nm, p))) {
      throw new Error(
        `copy-native: ${p} is not installed, so sharp cannot run on linux/${arch}; ` +
          `install it (npm install --cpu=${arch} --os=linux sharp) or deploy with architecture x86_64`,
      );
    }
  }
  copyPkg('sharp');
  for (const p of sharpPlatform) copyPkg(p);
  for (const p of PURE_DEPS) if (existsSync(join(nm, p))) copyPkg(p);
  return copied;
}

/** Total size in bytes of a directory tree (unzipped bundle size). */
export function dirSizeBytes(dir) {
  let total = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) total += dirSizeBytes(p);
    else if (e.isFile()) total += readFileSync(p).length;
  }
  return total;
}

const isMain = process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1];
if (isMain) {
  const [repoRoot, outDir, arch] = process.argv.slice(2);
  if (!repoRoot || !outDir || !arch) {
    console.error('usage: copy-native.mjs <repoRoot> <outDir> <x64|arm64>');
    process.exit(2);
  }
  mkdirSync(outDir, { recursive: true });
  const copied = copyNativeModules(repoRoot, outDir, arch);
  console.error(`copy-native: ${copied.join(', ')} -> ${outDir} (linux/${arch})`);
}
