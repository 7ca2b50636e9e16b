import { describe, expect, it } from 'vitest';
import {
  ImageRecipeSchema,
  canonicalImageRecipe,
  isPlainRecipe,
  recipeInput,
} from '../../core/environment-recipe';
import { CA_PATH, commitDockerfile, environmentDockerfile } from '../../core/image-dockerfile';
import { shellQuote } from '../../core/shell-quote';

const base = {
  from: 'sera-base:abc',
  packages: [],
  toolchains: [],
  env: {},
  setup: [],
  caBundle: false,
};

describe('environment Dockerfiles', () => {
  it('names each step for a person: packages, setup commands, the start', () => {
    const file = environmentDockerfile({
      ...base,
      packages: ['python3-pip', 'golang-go'],
      setup: ['pip install -e .', "echo 'quoted' > x"],
    });
    const labels = file.steps.map((s) => s.label);
    expect(labels[0]).toBe('start from sera-base:abc');
    expect(labels).toContain('system packages: python3-pip golang-go');
    expect(labels).toContain('setup 1/2: pip install -e .');
    expect(labels).toContain("setup 2/2: echo 'quoted' > x");
    // Step numbers are the builder's: one per instruction, from 1.
    const lines = file.text.trimEnd().split('\n');
    expect(file.steps.map((s) => s.step)).toEqual(lines.map((_, i) => i + 1));
    expect(lines[file.steps.find((s) => s.label.startsWith('setup 2/2'))!.step - 1]).toBe(
      `RUN sh -ec ${shellQuote("echo 'quoted' > x")}`,
    );
    // The repository comes before setup, and what setup leaves untracked is ignored last.
    const order = (text: string): number => lines.findIndex((l) => l.includes(text));
    expect(order('COPY repo /repo')).toBeLessThan(order('pip install'));
    expect(order('core.excludesFile')).toBe(lines.length - 1);
  });

  it("makes what setup left in root's home readable, after setup and before ignoring its files, only when there is setup", () => {
    const label = "what setup left in root's home, readable by every user";
    const withSetup = environmentDockerfile({ ...base, setup: ['pip install --user tool'] });
    const labels = withSetup.steps.map((s) => s.label);
    expect(labels.indexOf(label)).toBe(labels.indexOf('setup 1/1: pip install --user tool') + 1);
    expect(labels.indexOf(label)).toBeLessThan(labels.indexOf('ignore what setup made'));
    expect(environmentDockerfile({ ...base, packages: ['git'] }).steps.map((s) => s.label)).not.toContain(
      label,
    );
  });

  it('gives network steps the host’s CA bundle only when the host has one, never the image’s environment', () => {
    const without = environmentDockerfile({ ...base, packages: ['git'], setup: ['npm ci'] });
    expect(without.text).not.toContain(CA_PATH);
    const withCa = environmentDockerfile({ ...base, packages: ['git'], setup: ['npm ci'], caBundle: true });
    expect(withCa.text).toContain(`COPY sera-ca.pem ${CA_PATH}`);
    expect(withCa.text).toMatch(/RUN \. \S+ca-env && sh -ec 'npm ci'/);
    expect(withCa.text).toContain(`Acquire::https::CAInfo=${CA_PATH}`);
    expect(withCa.text).not.toMatch(/^ENV .*SSL_CERT_FILE/m);
  });

  it('sets variables one per step, in order, toolchains first on PATH', () => {
    const file = environmentDockerfile({
      ...base,
      toolchains: [
        {
          image: 'sera-toolchain-go:1.27.3',
          dir: '/usr/local/go',
          binDirs: ['/usr/local/go/bin'],
          env: { GOTOOLCHAIN: 'local' },
        },
      ],
      env: { A: 'one "two"', B: '$A and more' },
    });
    const envLines = file.text.split('\n').filter((l) => l.startsWith('ENV '));
    expect(envLines).toEqual([
      'ENV PATH="/usr/local/go/bin:$PATH"',
      'ENV GOTOOLCHAIN="local"',
      'ENV A="one \\"two\\""',
      'ENV B="$A and more"',
    ]);
    expect(file.text).toContain('COPY --from=sera-toolchain-go:1.27.3 /usr/local/go /usr/local/go');
  });

  it('lays a commit over its environment and keeps exactly that commit', () => {
    expect(commitDockerfile('sera-env-x:1').text).toBe(
      'FROM sera-env-x:1\nCOPY repo /repo\nRUN git reset -q --hard && git clean -qfd\n',
    );
  });

  it('builds the commit’s own sources after its files are in place, and ignores what that makes', () => {
    const file = commitDockerfile('sera-env-x:1', ['npx tsc -p .']);
    const lines = file.text.trimEnd().split('\n');
    expect(lines.slice(3)).toEqual([
      "RUN sh -ec 'npx tsc -p .'",
      "RUN git ls-files --others --exclude-standard --directory | sed 's|^|/|' >> /etc/sera/setup-excludes",
    ]);
    expect(file.steps.map((s) => s.label)).toContain('build 1/1: npx tsc -p .');
  });
});

describe('recipes as images see them', () => {
  it('keys images by the image fields alone, whatever their order', () => {
    const a = ImageRecipeSchema.parse({ packages: ['b', 'a'], env: { X: '1', Y: '$X' }, setup: ['s'] });
    const b = ImageRecipeSchema.parse({ setup: ['s'], env: { X: '1', Y: '$X' }, packages: ['a', 'b'] });
    expect(canonicalImageRecipe(a)).toBe(canonicalImageRecipe(b));
    // Variables in another order are another image: a value may use the ones before it.
    const swapped = ImageRecipeSchema.parse({ packages: ['a', 'b'], env: { Y: '$X', X: '1' }, setup: ['s'] });
    expect(canonicalImageRecipe(swapped)).not.toBe(canonicalImageRecipe(a));
    expect(ImageRecipeSchema.safeParse({ setup: ['a\nb'] }).success).toBe(false);
    const c = ImageRecipeSchema.parse({ packages: ['a', 'b'], env: { X: '1', Y: '2' }, setup: ['s', 't'] });
    expect(canonicalImageRecipe(c)).not.toBe(canonicalImageRecipe(a));
  });

  it('carries nothing for a plain environment, so runs from before recipes build what they built', () => {
    const plain = ImageRecipeSchema.parse({});
    expect(isPlainRecipe(plain)).toBe(true);
    expect(recipeInput(plain)).toEqual({});
    expect(recipeInput(undefined)).toEqual({});
    expect(recipeInput(ImageRecipeSchema.parse({ packages: ['git'] })).recipe?.packages).toEqual(['git']);
  });
});
