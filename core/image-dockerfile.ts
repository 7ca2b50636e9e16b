import { shellQuote } from './shell-quote';

/**
 * The Dockerfiles of a repository's images, as text. Two stages keep images cheap: the
 * environment image (start, packages, toolchains, variables, the repository at some commit and the
 * setup commands, run with network) is keyed by the recipe and the dependency files, so another
 * commit with the same dependencies reuses it; the commit image only lays that commit's files
 * over /repo.
 */

/** A toolchain copied out of its own image (see activities/sandbox/toolchains.ts). */
export interface ToolchainLayer {
  image: string;
  /** The folder it occupies, the same in its image and in the environment image. */
  dir: string;
  /** Folders to put first on PATH. */
  binDirs: string[];
  env: Record<string, string>;
}

export interface EnvironmentDockerfileInput {
  /** The image to start from (the base, a named image or a built Dockerfile). */
  from: string;
  packages: readonly string[];
  toolchains: readonly ToolchainLayer[];
  env: Readonly<Record<string, string>>;
  setup: readonly string[];
  /** True when the build context holds the host's CA bundle as `sera-ca.pem`. */
  caBundle: boolean;
}

/** One instruction's meaning for a person, by its step number in the builder's output. */
export interface BuildStep {
  step: number;
  label: string;
}

export interface Dockerfile {
  text: string;
  steps: BuildStep[];
}

/** Where the host's CA bundle goes in the image, and the variables that point tools at it. */
export const CA_PATH = '/usr/local/share/sera/ca.pem';
const CA_ENV = '/usr/local/share/sera/ca-env';
const CA_VARIABLES = [
  'SSL_CERT_FILE',
  'REQUESTS_CA_BUNDLE',
  'PIP_CERT',
  'CURL_CA_BUNDLE',
  'GIT_SSL_CAINFO',
  'NODE_EXTRA_CA_CERTS',
  'npm_config_cafile',
  'CARGO_HTTP_CAINFO',
];

/** Root's home, where setup's tools put what they install for "the user". */
const ROOT_HOME = '/root';

/** Untracked files that setup made are ignored from then on: they are no part of any patch. */
export const SETUP_EXCLUDES = '/etc/sera/setup-excludes';

/** A value quoted for a Dockerfile's ENV, where `$VAR` still expands as Docker documents. */
function envValue(value: string): string {
  return `"${value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`;
}

class DockerfileWriter {
  private readonly lines: string[] = [];
  readonly steps: BuildStep[] = [];

  add(instruction: string, label: string): void {
    this.lines.push(instruction);
    this.steps.push({ step: this.lines.length, label });
  }

  result(): Dockerfile {
    return { text: `${this.lines.join('\n')}\n`, steps: this.steps };
  }
}

export function environmentDockerfile(input: EnvironmentDockerfileInput): Dockerfile {
  const out = new DockerfileWriter();
  out.add(`FROM ${input.from}`, `start from ${input.from}`);
  for (const tool of input.toolchains)
    out.add(`COPY --from=${tool.image} ${tool.dir} ${tool.dir}`, `toolchain ${tool.image}`);
  const env: Array<[string, string]> = [];
  const binDirs = input.toolchains.flatMap((t) => t.binDirs);
  if (binDirs.length > 0) env.push(['PATH', `${binDirs.join(':')}:$PATH`]);
  for (const tool of input.toolchains) env.push(...Object.entries(tool.env));
  env.push(...Object.entries(input.env));
  // One instruction each, in the recipe's order, so a value can use the ones before it ($VAR).
  for (const [name, value] of env) out.add(`ENV ${name}=${envValue(value)}`, `variable ${name}`);
  // Network steps see the host's CA bundle, where the host has one; tests never need it, so the
  // variables live in a file the steps source, not in the image's environment.
  const withCa = input.caBundle ? `. ${CA_ENV} && ` : '';
  const aptCa = input.caBundle ? `-o Acquire::https::CAInfo=${CA_PATH} ` : '';
  if (input.caBundle) {
    out.add(`COPY sera-ca.pem ${CA_PATH}`, "the host's CA bundle");
    out.add(
      `RUN printf 'export %s\\n' ${CA_VARIABLES.map((v) => `${v}=${CA_PATH}`).join(' ')} > ${CA_ENV}`,
      "variables that point tools at the host's CA bundle",
    );
  }
  if (input.packages.length > 0)
    out.add(
      `RUN apt-get ${aptCa}update -q && DEBIAN_FRONTEND=noninteractive apt-get ${aptCa}install -y -q --no-install-recommends ${input.packages.join(' ')} && rm -rf /var/lib/apt/lists/*`,
      `system packages: ${input.packages.join(' ')}`,
    );
  out.add(
    'RUN command -v git >/dev/null || { echo \'the image has no git: add it (packages: ["git"], or in your own image)\' >&2; exit 1; }',
    'git is there',
  );
  out.add('COPY repo /repo', 'the repository');
  out.add('WORKDIR /repo', 'the working directory');
  input.setup.forEach((command, i) => {
    out.add(`RUN ${withCa}sh -ec ${shellQuote(command)}`, `setup ${i + 1}/${input.setup.length}: ${command}`);
  });
  // Setup runs as root, so what it installs in root's home (~/.local/bin, a virtualenv's Python)
  // sits in a folder only root may enter; the sandbox runs commands as another user. Only what
  // others cannot read or enter changes, so the layer stays small.
  if (input.setup.length > 0)
    out.add(
      `RUN [ "$(id -u)" != 0 ] || [ ! -d ${ROOT_HOME} ] || find ${ROOT_HOME} \\( ! -perm -0444 -o -type d ! -perm -0111 \\) ! -type l -exec chmod a+rX {} +`,
      "what setup left in root's home, readable by every user",
    );
  out.add(
    `RUN mkdir -p /etc/sera && git ls-files --others --exclude-standard --directory | sed 's|^|/|' > ${SETUP_EXCLUDES} && git config --system core.excludesFile ${SETUP_EXCLUDES}`,
    'ignore what setup made',
  );
  return out.result();
}

/**
 * The commit image: the environment image with one commit's files (and history) at /repo, then
 * the recipe's build commands for this commit's sources (built with no network).
 */
export function commitDockerfile(environmentImage: string, build: readonly string[] = []): Dockerfile {
  const out = new DockerfileWriter();
  out.add(`FROM ${environmentImage}`, `start from ${environmentImage}`);
  out.add('COPY repo /repo', 'the repository at the commit');
  // Files of the environment's commit that this commit lacks go; what setup made stays (ignored).
  out.add('RUN git reset -q --hard && git clean -qfd', 'the commit exactly');
  build.forEach((command, i) => {
    out.add(`RUN sh -ec ${shellQuote(command)}`, `build ${i + 1}/${build.length}: ${command}`);
  });
  // What the build made (dist/, generated code) is no part of a patch either.
  if (build.length > 0)
    out.add(
      `RUN git ls-files --others --exclude-standard --directory | sed 's|^|/|' >> ${SETUP_EXCLUDES}`,
      'ignore what the build made',
    );
  return out.result();
}

/** The plain image, as before recipes: the base with the repository copied in. */
export function plainDockerfile(baseImage: string): Dockerfile {
  const out = new DockerfileWriter();
  out.add(`FROM ${baseImage}`, `start from ${baseImage}`);
  out.add('COPY repo /repo', 'the repository');
  out.add('WORKDIR /repo', 'the working directory');
  return out.result();
}
