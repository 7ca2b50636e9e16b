// Lint rules: the recommended sets, plus a guard that keeps workflow code free of I/O imports.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['node_modules/', '.venv/', '.venv-serve/', '.sera/', 'build/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', ignoreRestSiblings: true }],
    },
  },
  {
    files: ['workflows/**/*.ts', 'core/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['node:*', 'fs', 'child_process', 'dockerode'],
              message: 'Workflow and core code must not do I/O.',
            },
            {
              group: ['**/activities/*', '**/infra/*'],
              allowTypeImports: true,
              message: 'Import activity types only.',
            },
          ],
        },
      ],
    },
  },
);
