#!/usr/bin/env node
/**
 * The VM/controller-host app bundle: one self-contained, deterministic tar.gz per CPU architecture
 * that a host unpacks and runs with no registry, no package manager and no compiler at boot.
 *
 *   spillway-<arch>/
 *     node/bin/node                  pinned Node.js runtime for linux/<arch> (node-runtime.json)
 *     app/package.json               {"name":"spillway"}: the engine's repoRoot() lands here
 *     app/dist/server.mjs            functions/server/main.ts bundled by esbuild (ESM)
 *     app/dist/engine-worker.mjs     the inference worker thread's entry (same bundling)
 *     app/dist/controller.mjs        controller/main.ts bundled by esbuild (ESM)
 *     app/dist/router.mjs            controller/cluster/router-main.ts (the router group's unit)
 *     app/dist/planner-worker.mjs    its planner worker thread's entry
 *     app/functions/models/, app/profiles/   the data files the code reads at run time
 *     app/node_modules/              only what esbuild cannot bundle: onnxruntime-node pruned to
 *                                    linux/<arch>, sharp + its linux/<arch> libvips, onnx-proto
 *                                    (loaded through createRequire) and their dependencies
 *     BUNDLE.json                    arch, Node version, content key, entry points
 *
 * Where each part comes from, all pinned: the code from this checkout; native packages from the
 * local node_modules, or, when the host lacks another architecture's optional package (sharp
 * installs only the host's), from the npm registry with the exact version and integrity that
 * package-lock.json records; the Node runtime from the npm registry's node-linux-<arch> package
 * at the version and sha512 in node-runtime.json. Downloads happen only at build time, into a
 * cache (<repo>/.spillway/bundle-cache, or $SPILLWAY_BUNDLE_CACHE); a cache filled once (or copied
 * onto an air-gapped machine) makes builds offline. Each download is verified before use.
 *
 * Determinism: the tarball is keyed by a sha256 over every input (bundled code, data files,
 * package versions and integrity, Node runtime, this script); the same inputs give the same
 * bytes (sorted entries, mtime 0, owner 0, gzip -n), so an unchanged app keeps its asset hash and
 * the controller host (replaced on a user-data change) is not replaced for nothing.
 *
 * Usage: node infra/bundling/vm-bundle.mjs <repoRoot> <x64|arm64> [outDir]   (prints the path)
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  chmodSync,
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = dirname(fileURLToPath(import.meta.url));
const SELF = fileURLToPath(import.meta.url);

/** Entry points bundled into app/dist (name -> source relative to the repo root). */
export const VM_BUNDLE_ENTRIES = {
  server: 'functions/server/main.ts',
  'engine-worker': 'functions/server/engine-worker.ts',
  controller: 'controller/main.ts',
  router: 'controller/cluster/router-main.ts',
  'planner-worker': 'controller/cluster/planner-worker.ts',
};
/** Packages esbuild leaves external (native code or createRequire-loaded); shipped in node_modules. */
export const VM_BUNDLE_EXTERNALS = ['onnxruntime-node', 'sharp', 'onnx-proto'];
/** Data directories copied as they are (files the code reads at run time through import.meta.url). */
const DATA_DIRS = ['functions/models', 'profiles'];
const DATA_FILE = /\.(json|txt|jpg|jpeg|png)$/i;

export function nodeRuntimePin() {
  return JSON.parse(readFileSync(join(HERE, 'node-runtime.json'), 'utf8'));
}

export function bundleCacheDir(repoRoot) {
  return process.env.SPILLWAY_BUNDLE_CACHE || join(repoRoot, '.spillway', 'bundle-cache');
}

const sha256 = (buf) => createHash('sha256').update(buf).digest('hex');
const sriSha512 = (buf) => `sha512-${createHash('sha512').update(buf).digest('base64')}`;

/**
 * A package tarball from the npm registry, pinned by name, version and integrity: taken from
 * the cache when its bytes match, else fetched with `npm pack` (the ordinary client) and checked.
 */
export function fetchPinnedTarball(cacheDir, name, version, integrity) {
  const file = join(cacheDir, 'npm', `${name.replace('@', '').replace('/', '-')}-${version}.tgz`);
  if (existsSync(file)) {
    if (sriSha512(readFileSync(file)) === integrity) return file;
    rmSync(file); // corrupt or tampered: fetch again
  }
  mkdirSync(dirname(file), { recursive: true });
  const tmp = mkdtempSync(join(dirname(file), '.pack-'));
  try {
    let out;
    try {
      out = execFileSync('npm', ['pack', `${name}@${version}`, '--pack-destination', tmp, '--json', '--silent'], {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'pipe'],
        maxBuffer: 64 * 1024 * 1024,
      });
    } catch (err) {
      throw new Error(
        `vm-bundle: could not fetch ${name}@${version} from the npm registry (${String(err.stderr || err.message).trim().split('\n')[0]}); ` +
          `put its tarball at ${file} (sha512 ${integrity}) to build offline`,
      );
    }
    const packed = JSON.parse(out)[0]?.filename;
    const got = join(tmp, packed ?? '');
    if (!packed || !existsSync(got)) throw new Error(`vm-bundle: npm pack ${name}@${version} produced no tarball`);
    const actual = sriSha512(readFileSync(got));
    if (actual !== integrity) {
      throw new Error(`vm-bundle: ${name}@${version} integrity mismatch: expected ${integrity}, got ${actual}`);
    }
    renameSync(got, file);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  return file;
}

function extractPackage(tgz, dest) {
  mkdirSync(dest, { recursive: true });
  execFileSync('tar', ['-xzf', tgz, '-C', dest, '--strip-components=1', '--no-same-owner'], { stdio: 'pipe' });
}

/** package-lock.json entry of an installed package (version + integrity), or undefined. */
function lockEntry(lock, name) {
  return lock.packages?.[`node_modules/${name}`];
}

/**
 * Dependencies of a shipped package that its run time never loads: onnxruntime-node's install
 * script (script/, not shipped) is the only user of adm-zip and global-agent.
 */
const INSTALL_ONLY_DEPS = { 'onnxruntime-node': ['adm-zip', 'global-agent'] };

/**
 * Run-time dependency closure of the given packages, in the lock file's flat layout, for
 * linux/<arch>: optional packages are kept only when they are this platform's own (a cpu list
 * naming <arch>); others (another CPU's binaries, sharp's wasm32 fallback) are left out.
 */
function dependencyClosure(lock, roots, arch, nodeModules) {
  const seen = new Set();
  const stack = [...roots];
  while (stack.length) {
    const name = stack.pop();
    if (seen.has(name)) continue;
    const e = lockEntry(lock, name);
    if (!e) continue;
    if (e.optional && !roots.includes(name)) {
      const ownPlatform = platformMatches(e, arch) && Array.isArray(e.cpu);
      const installed = existsSync(join(nodeModules, name, 'package.json'));
      if (!(ownPlatform || (installed && platformMatches(e, arch) && !e.cpu))) continue;
    }
    seen.add(name);
    const skip = INSTALL_ONLY_DEPS[name] ?? [];
    for (const d of Object.keys({ ...(e.dependencies ?? {}), ...(e.optionalDependencies ?? {}) })) {
      if (!skip.includes(d)) stack.push(d);
    }
  }
  return [...seen].sort();
}

/** True when the lock entry's os/cpu/libc admit linux/<arch>/glibc. */
function platformMatches(entry, arch) {
  const ok = (list, v) => !list || list.some((x) => x === v) || (list.every((x) => x.startsWith('!')) && !list.includes(`!${v}`));
  return ok(entry.os, 'linux') && ok(entry.cpu, arch) && ok(entry.libc, 'glibc');
}

function walkFiles(dir, out = []) {
  for (const e of readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
    const p = join(dir, e.name);
    if (e.isDirectory()) walkFiles(p, out);
    else if (e.isFile()) out.push(p);
  }
  return out;
}

/** Bundles the entry points with esbuild (in memory): { name -> code }. */
async function bundleCode(repoRoot) {
  const require = createRequire(join(repoRoot, 'package.json'));
  const esbuild = require('esbuild');
  // Each source's import.meta.url becomes the URL its file would have in the unpacked app
  // (app/<path from the repo root>), so the data files keep their relative places.
  const rewriteMetaUrl = {
    name: 'spillway-import-meta-url',
    setup(build) {
      build.onLoad({ filter: /\.[cm]?[jt]s$/ }, (args) => {
        if (args.path.includes(`${sep}node_modules${sep}`)) return undefined;
        const src = readFileSync(args.path, 'utf8');
        if (!src.includes('import.meta.url')) return undefined;
        const rel = relative(repoRoot, args.path).split(sep).join('/');
        return {
          contents: src.replaceAll('import.meta.url', `__spillwaySourceUrl(${JSON.stringify(rel)})`),
          loader: args.path.endsWith('ts') ? 'ts' : 'js',
        };
      });
    },
  };
  const out = {};
  for (const [name, entry] of Object.entries(VM_BUNDLE_ENTRIES)) {
    const r = await esbuild.build({
      absWorkingDir: repoRoot,
      entryPoints: [join(repoRoot, entry)],
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node22',
      mainFields: ['module', 'main'],
      external: VM_BUNDLE_EXTERNALS,
      write: false,
      minify: false,
      sourcemap: false,
      legalComments: 'none',
      logLevel: 'silent',
      plugins: [rewriteMetaUrl],
      banner: {
        js: [
          "import { createRequire as __spillwayCreateRequire } from 'node:module';",
          'const require = __spillwayCreateRequire(import.meta.url);',
          "const __spillwaySourceUrl = (p) => new URL('../' + p, import.meta.url).href;",
          // Tells worker-engine.ts to start the bundled worker entry instead of the tsx loader.
          "globalThis.__spillwayWorkerEntry ??= new URL('./engine-worker.mjs', import.meta.url).href;",
          // Tells router-main.ts to start the bundled planner worker instead of the tsx loader.
          "globalThis.__spillwayPlannerEntry ??= new URL('./planner-worker.mjs', import.meta.url).href;",
        ].join('\n'),
      },
    });
    if (r.errors.length) throw new Error(`vm-bundle: esbuild ${entry}: ${r.errors.map((e) => e.text).join('; ')}`);
    out[name] = r.outputFiles[0].contents;
  }
  return out;
}

/**
 * Builds (or takes from the cache) the bundle for linux/<arch>. Returns
 * { path, key, arch, nodeVersion, bytes, unpackedBytes, cached }.
 */
export async function buildVmBundle(repoRoot, arch, opts = {}) {
  if (arch !== 'x64' && arch !== 'arm64') throw new Error(`vm-bundle: arch must be x64 or arm64, got '${arch}'`);
  const cacheDir = opts.cacheDir ?? bundleCacheDir(repoRoot);
  const outDir = opts.outDir ?? join(cacheDir, 'bundles');
  const lock = JSON.parse(readFileSync(join(repoRoot, 'package-lock.json'), 'utf8'));
  const pin = nodeRuntimePin();
  const runtime = pin.packages[arch];
  if (!runtime) throw new Error(`vm-bundle: node-runtime.json pins no runtime for ${arch}`);

  const code = await bundleCode(repoRoot);
  const dataFiles = DATA_DIRS.flatMap((d) => walkFiles(join(repoRoot, d)))
    .filter((f) => DATA_FILE.test(f))
    .map((f) => relative(repoRoot, f).split(sep).join('/'));
  const packages = dependencyClosure(lock, VM_BUNDLE_EXTERNALS, arch, join(repoRoot, 'node_modules'));

  const h = createHash('sha256');
  h.update(`arch=${arch}\nnode=${runtime.name}@${pin.version} ${runtime.integrity}\n`);
  h.update(readFileSync(SELF));
  for (const [name, c] of Object.entries(code)) h.update(`code ${name} ${sha256(c)}\n`);
  for (const f of dataFiles) h.update(`data ${f} ${sha256(readFileSync(join(repoRoot, f)))}\n`);
  for (const n of packages) {
    const e = lockEntry(lock, n);
    h.update(`pkg ${n}@${e.version} ${e.integrity ?? ''}\n`);
  }
  const key = h.digest('hex').slice(0, 16);
  const path = join(outDir, `spillway-vm-${arch}-${key}.tar.gz`);
  const info = (cached) => {
    const meta = JSON.parse(readFileSync(`${path}.json`, 'utf8'));
    return { ...meta, path, bytes: statSync(path).size, cached };
  };
  if (existsSync(path) && existsSync(`${path}.json`)) return info(true);

  mkdirSync(outDir, { recursive: true });
  const stage = mkdtempSync(join(outDir, `.stage-${arch}-`));
  try {
    const root = join(stage, `spillway-${arch}`);
    const app = join(root, 'app');
    // Node runtime: only bin/node and the licence from the node-linux-<arch> package.
    const nodeTgz = fetchPinnedTarball(cacheDir, runtime.name, pin.version, runtime.integrity);
    const nodeTmp = join(stage, 'node-pkg');
    extractPackage(nodeTgz, nodeTmp);
    mkdirSync(join(root, 'node', 'bin'), { recursive: true });
    cpSync(join(nodeTmp, 'bin', 'node'), join(root, 'node', 'bin', 'node'));
    chmodSync(join(root, 'node', 'bin', 'node'), 0o755);
    if (existsSync(join(nodeTmp, 'LICENSE'))) cpSync(join(nodeTmp, 'LICENSE'), join(root, 'node', 'LICENSE'));
    rmSync(nodeTmp, { recursive: true, force: true });

    mkdirSync(join(app, 'dist'), { recursive: true });
    for (const [name, c] of Object.entries(code)) writeFileSync(join(app, 'dist', `${name}.mjs`), c);
    writeFileSync(join(app, 'package.json'), `${JSON.stringify({ name: 'spillway', private: true, type: 'module' }, null, 2)}\n`);
    for (const f of dataFiles) cpSync(join(repoRoot, f), join(app, f));

    const nm = join(repoRoot, 'node_modules');
    const ortBin = join('onnxruntime-node', 'bin');
    for (const n of packages) {
      const dest = join(app, 'node_modules', n);
      const e = lockEntry(lock, n);
      const local = join(nm, n);
      const localVersion = existsSync(join(local, 'package.json'))
        ? JSON.parse(readFileSync(join(local, 'package.json'), 'utf8')).version
        : undefined;
      if (localVersion === e.version) {
        cpSync(local, dest, {
          recursive: true,
          dereference: true,
          filter: (src) => {
            const rel = relative(nm, src);
            if (rel.split(sep).includes('node_modules')) return false; // nested installs: not in the flat closure
            // Sources and source maps packages ship beside their JS: never loaded at run time.
            if ((/\.[cm]?ts$/.test(src) && !/\.d\.[cm]?ts$/.test(src)) || src.endsWith('.map')) return false;
            // onnxruntime-node ships 3 OSes x 2 CPUs (~288 MB): keep bin/napi-v*/linux/<arch> only.
            if (rel.startsWith(ortBin + sep)) {
              const parts = rel.slice(ortBin.length + 1).split(sep); // [napi-vN, os, cpu, file]
              return parts.length < 2 || (parts[1] === 'linux' && (parts.length < 3 || parts[2] === arch));
            }
            return !rel.startsWith(join('onnxruntime-node', 'script'));
          },
        });
      } else {
        // Not installed here (another architecture's optional package): the locked tarball.
        if (!e.integrity) throw new Error(`vm-bundle: ${n} is not installed and package-lock.json has no integrity for it`);
        extractPackage(fetchPinnedTarball(cacheDir, n, e.version, e.integrity), dest);
      }
    }
    const ortAddon = readdirSync(join(app, 'node_modules', 'onnxruntime-node', 'bin'))
      .map((v) => join(app, 'node_modules', 'onnxruntime-node', 'bin', v, 'linux', arch, 'onnxruntime_binding.node'))
      .find((p) => existsSync(p));
    if (!ortAddon) throw new Error(`vm-bundle: onnxruntime-node has no linux/${arch} binding`);
    if (!existsSync(join(app, 'node_modules', '@img', `sharp-linux-${arch}`))) {
      throw new Error(`vm-bundle: @img/sharp-linux-${arch} is missing from the bundle`);
    }

    const meta = {
      arch,
      key,
      nodeVersion: pin.version,
      entries: Object.fromEntries(Object.keys(code).map((n) => [n, `app/dist/${n}.mjs`])),
      node: 'node/bin/node',
      packages: packages.map((n) => `${n}@${lockEntry(lock, n).version}`),
    };
    writeFileSync(join(root, 'BUNDLE.json'), `${JSON.stringify(meta, null, 2)}\n`);
    const unpackedBytes = walkFiles(root).reduce((s, f) => s + statSync(f).size, 0);

    // Deterministic archive: sorted names, fixed mtime and owner, gzip without a timestamp.
    const tarFile = join(stage, 'bundle.tar');
    try {
      execFileSync(
        'tar',
        ['--sort=name', '--mtime=@0', '--owner=0', '--group=0', '--numeric-owner', '--format=gnu', '-C', stage, '-cf', tarFile, `spillway-${arch}`],
        { stdio: 'pipe' },
      );
    } catch (err) {
      throw new Error(`vm-bundle: GNU tar is needed to build the bundle (tar --sort=name): ${String(err.stderr || err.message).trim()}`);
    }
    execFileSync('gzip', ['-n', '-6', tarFile], { stdio: 'pipe' });
    renameSync(`${tarFile}.gz`, path);
    writeFileSync(`${path}.json`, `${JSON.stringify({ ...meta, unpackedBytes }, null, 2)}\n`);
    // Older bundles of this architecture: keep the previous one (a branch switch back), drop the rest.
    const older = readdirSync(outDir)
      .filter((f) => f.startsWith(`spillway-vm-${arch}-`) && f.endsWith('.tar.gz') && join(outDir, f) !== path)
      .map((f) => ({ f, t: statSync(join(outDir, f)).mtimeMs }))
      .sort((a, b) => b.t - a.t);
    for (const { f } of older.slice(1)) for (const p of [f, `${f}.json`]) rmSync(join(outDir, p), { force: true });
  } finally {
    rmSync(stage, { recursive: true, force: true });
  }
  return info(false);
}

const isMain = process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1];
if (isMain) {
  const [repoRoot, arch, outDir] = process.argv.slice(2);
  if (!repoRoot || !arch) {
    console.error('usage: vm-bundle.mjs <repoRoot> <x64|arm64> [outDir]');
    process.exit(2);
  }
  const t0 = Date.now();
  const r = await buildVmBundle(resolve(repoRoot), arch, outDir ? { outDir: resolve(outDir) } : {});
  console.error(
    `vm-bundle: linux/${arch} ${r.cached ? 'cached' : 'built'} in ${((Date.now() - t0) / 1000).toFixed(1)} s: ` +
      `${(r.bytes / 1e6).toFixed(1)} MB compressed, ${(r.unpackedBytes / 1e6).toFixed(1)} MB unpacked`,
  );
  console.log(r.path);
}
