#!/usr/bin/env node
/**
 * Copies the native runtime dependencies of the inference engine (onnxruntime-node and sharp,
 * which esbuild cannot bundle) from the local node_modules into a bundle directory, pruned to
 * one target platform. `npm install` is never run; the only download is another architecture's
 * sharp package (npm installs the host's only), fetched once with `npm pack` at package-lock.json's
 * version and checked against its integrity, then cached: bundling is offline after that. Pruning matters: onnxruntime-node ships binaries for 3 OSes x 2 CPUs (~288 MB on
 * disk); linux/x64 alone is ~40 MB, keeping the Lambda bundle far below the 250 MB unzipped limit.
 *
 * Usage: node infra/bundling/copy-native.mjs <repoRoot> <outDir> <x64|arm64>
 */
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { bundleCacheDir, fetchPinnedTarball } from './vm-bundle.mjs';

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

  // sharp: JS + the platform package with libvips. npm installs only the host platform's; another
  // architecture's comes from the npm registry at the version and integrity package-lock.json
  // records (fetched once, checked, cached: infra/bundling/vm-bundle.mjs fetchPinnedTarball).
  const sharpPlatform = [`@img/sharp-linux-${arch}`, `@img/sharp-libvips-linux-${arch}`];
  copyPkg('sharp');
  for (const p of sharpPlatform) {
    if (existsSync(join(nm, p))) {
      copyPkg(p);
      continue;
    }
    const lock = JSON.parse(readFileSync(join(repoRoot, 'package-lock.json'), 'utf8'));
    const entry = lock.packages?.[`node_modules/${p}`];
    if (!entry?.version || !entry.integrity) {
      throw new Error(`copy-native: ${p} is neither installed nor pinned in package-lock.json, so sharp cannot run on linux/${arch}`);
    }
    const tgz = fetchPinnedTarball(bundleCacheDir(repoRoot), p, entry.version, entry.integrity);
    const dest = join(outNm, p);
    mkdirSync(dest, { recursive: true });
    execFileSync('tar', ['-xzf', tgz, '-C', dest, '--strip-components=1', '--no-same-owner'], { stdio: 'pipe' });
    copied.push(`${p} (registry, pinned)`);
  }
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
