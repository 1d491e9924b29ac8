// Lint config: typescript-eslint's type-aware rules on top of ESLint's, and the layer rule.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import globals from 'globals';
import { importX } from 'eslint-plugin-import-x';
import { createTypeScriptImportResolver } from 'eslint-import-resolver-typescript';

/**
 * The layers of docs/ARCHITECTURE.md as import zones: a file in `target` may not import from
 * `from`. foundation ← inference ← node; lifecycle may use foundation and inference; only cli
 * sees everything; nothing that ships imports test support.
 */
const layerZones = [
  {
    target: './src/foundation',
    from: ['./src/inference', './src/node', './src/lifecycle', './src/cli'],
    message: 'foundation/ imports nothing above it (docs/ARCHITECTURE.md, src/README.md).',
  },
  {
    target: './src/inference',
    from: ['./src/node', './src/lifecycle', './src/cli'],
    message: 'inference/ may import foundation/ only (docs/ARCHITECTURE.md, src/README.md).',
  },
  {
    target: './src/node',
    from: ['./src/lifecycle', './src/cli'],
    message:
      'node/ may import foundation/ and inference/ only; lifecycle work reaches the node through cli (src/README.md).',
  },
  {
    target: './src/lifecycle',
    from: ['./src/node', './src/cli'],
    message: 'lifecycle/ may import foundation/ and inference/ only (src/README.md).',
  },
  {
    target: './src',
    from: './test',
    except: [],
    message: 'product code never imports test support (test/README.md).',
  },
];

export default tseslint.config(
  {
    ignores: [
      'dist/',
      'node_modules/',
      'models/',
      'training/',
      'data/',
      'runs/',
      // Fetched third-party builds (the OHIF viewer) and test screenshots: not our code.
      '.cache/',
      'test-artifacts/',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      globals: globals.node,
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    plugins: { 'import-x': importX },
    settings: {
      'import-x/resolver-next': [createTypeScriptImportResolver({ project: './tsconfig.json' })],
    },
    rules: {
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', ignoreRestSiblings: true },
      ],
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/switch-exhaustiveness-check': [
        'error',
        { considerDefaultExhaustiveForUnions: true },
      ],
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
      'import-x/no-restricted-paths': ['error', { zones: layerZones }],
      'import-x/no-cycle': 'error',
    },
  },
  {
    // Tests: node:test's describe/it/test return promises that the runner itself awaits.
    files: ['**/*.test.ts'],
    rules: { '@typescript-eslint/no-floating-promises': 'off' },
  },
  {
    // Tests ship nothing: they may build fixtures with any layer (analysis tests import
    // import-images' DICOM) and use test support; the zones bind the product code.
    files: ['**/*.test.ts'],
    rules: { 'import-x/no-restricted-paths': 'off' },
  },
  {
    // The reading room's browser code (ADR 0190): browser globals, its own tsconfig (DOM).
    files: ['src/node/web/client/**/*.ts'],
    languageOptions: { globals: globals.browser },
  },
  {
    files: ['**/*.js', '**/*.mjs'],
    ...tseslint.configs.disableTypeChecked,
  },
);
