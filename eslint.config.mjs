// Layering (see docs/architecture.md, "Layers"): shared/ is pure, renderer/ talks to the engine only through its API
// client, electron/ never imports the renderer.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import reactHooks from 'eslint-plugin-react-hooks';
import globals from 'globals';

const nodeModules = ['node:*', 'fs', 'path', 'os', 'child_process', 'crypto', 'http', 'url', 'stream', 'events'];

export default tseslint.config(
  { ignores: ['node_modules/', '.vite/', 'dist/', 'out/', 'e2e/artifacts/', 'test-results/', 'playwright-report/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-restricted-syntax': ['error', { selector: 'ThrowStatement > Literal', message: 'Throw an AppError, never a string.' }],
    },
  },
  {
    files: ['shared/**/*.ts'],
    ignores: ['shared/**/*.test.ts'],
    rules: {
      'no-restricted-imports': ['error', {
        patterns: [
          { group: [...nodeModules, 'electron', 'execa', 'react', 'react-dom', '@xyflow/*', 'zustand'], message: 'shared/ is pure TypeScript.' },
          { group: ['**/electron/**', '**/renderer/**'], message: 'shared/ imports only shared/.' },
        ],
      }],
    },
  },
  {
    files: ['renderer/**/*.ts', 'renderer/**/*.tsx'],
    languageOptions: { globals: globals.browser },
    plugins: { 'react-hooks': reactHooks },
    rules: {
      ...reactHooks.configs.recommended.rules,
      'no-restricted-imports': ['error', {
        patterns: [
          { group: [...nodeModules, 'electron', 'execa'], message: 'The renderer runs sandboxed: browser libraries and shared/ only.' },
          { group: ['**/electron/**'], message: 'The renderer reaches the engine only through renderer/api.' },
        ],
      }],
    },
  },
  {
    files: ['electron/**/*.ts'],
    languageOptions: { globals: globals.node },
    rules: {
      'no-restricted-imports': ['error', {
        patterns: [{ group: ['**/renderer/**'], message: 'The engine does not import the renderer.' }],
      }],
    },
  },
  {
    files: ['bin/**/*.cjs', 'scripts/**/*.{js,cjs,mjs}'],
    languageOptions: { globals: globals.node, sourceType: 'commonjs' },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
  { files: ['e2e/**/*.ts', 'bench/**/*.ts', '*.ts', '*.mjs'], languageOptions: { globals: globals.node } },
);
