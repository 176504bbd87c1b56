// Lint for defects only (promises, cycles, unused code); formatting and style are left to review.
import tseslint from 'typescript-eslint';
import importX from 'eslint-plugin-import-x';
import { createTypeScriptImportResolver } from 'eslint-import-resolver-typescript';

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', '.worker-admin/**', 'connectors/**', 'test/fixtures/**', 'bench/**', 'scripts/**', 'bin/**'] },
  {
    files: ['src/**/*.ts', 'test/**/*.ts', 'vitest.config.ts'],
    languageOptions: {
      parser: tseslint.parser,
      // Each file is checked against its own tsconfig (src: tsconfig.json, test: test/tsconfig.json).
      parserOptions: { projectService: { allowDefaultProject: ['vitest.config.ts'] }, tsconfigRootDir: import.meta.dirname },
    },
    plugins: { '@typescript-eslint': tseslint.plugin, 'import-x': importX },
    settings: {
      'import-x/parsers': { '@typescript-eslint/parser': ['.ts'] },
      'import-x/extensions': ['.ts', '.js', '.mjs'],
      'import-x/resolver-next': [createTypeScriptImportResolver({ project: ['./tsconfig.json', './test/tsconfig.json'], noWarnOnMultipleProjects: true })],
    },
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    rules: {
      // promises: every one is awaited, returned, handled or explicitly `void`ed
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/await-thenable': 'error',
      '@typescript-eslint/return-await': ['error', 'in-try-catch'],
      '@typescript-eslint/prefer-promise-reject-errors': 'error',
      '@typescript-eslint/only-throw-error': 'error',
      'no-async-promise-executor': 'error',
      // values that would print as [object Object] in a message or log line
      '@typescript-eslint/no-base-to-string': 'error',
      // a switch over a union misses no member
      '@typescript-eslint/switch-exhaustiveness-check': ['error', { considerDefaultExhaustiveForUnions: true }],
      // control flow and object literals that cannot be what was meant
      'no-unsafe-finally': 'error',
      'no-unreachable': 'error',
      'no-fallthrough': 'error',
      'no-self-assign': 'error',
      'no-dupe-keys': 'error',
      'no-constant-binary-expression': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
      // import cycles: modules load in an order that depends on who imports first
      'import-x/no-cycle': ['error', { ignoreExternal: true }],
    },
  },
);
