// ESLint for the whole monorepo (flat config). typescript-eslint's recommended rules without type information, so a
// lint of every file takes seconds; `tsc` (typecheck) does the type-aware checking. Formatting is Prettier's job.
import js from '@eslint/js';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  {
    ignores: [
      '**/node_modules/**',
      '**/dist/**',
      '**/.turbo/**',
      '**/test-results/**',
      '**/coverage/**',
      '**/build/**',
      // the main job's output (npm start): generated, git-ignored, holds the built page
      'runs/**',
      'bench/results/**',
      'bench/gpu/kit/**',
      'bench/gpu/.stage/**',
      '**/fixtures/**',
      'packages/onnx/proto/**',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      ecmaVersion: 2023,
      sourceType: 'module',
      globals: { ...globals.node },
    },
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    rules: {
      'no-unused-vars': 'off',
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none', ignoreRestSiblings: true },
      ],
    },
  },
  {
    // The browser page, its service worker and its search worker run in the browser.
    files: ['packages/runtime-web/page/**', 'packages/runtime-web/src/**'],
    languageOptions: { globals: { ...globals.browser, ...globals.serviceworker, ...globals.worker } },
  },
  {
    // Tests read JSON bodies (HTTP responses, CLI --json output, python's printed results) whose shape the
    // assertions themselves check; typing each one adds nothing.
    files: ['**/test/**'],
    rules: { '@typescript-eslint/no-explicit-any': 'off' },
  },
  {
    // CommonJS helpers that tests preload with `node --require`.
    files: ['**/*.cjs'],
    languageOptions: { sourceType: 'commonjs', globals: { ...globals.node } },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
);
