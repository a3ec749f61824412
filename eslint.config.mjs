// ESLint as the Effect monorepo (v3 branch) configures it: eslint:recommended, typescript-eslint's recommended rules
// (not the type-aware ones: they need a TypeScript program per run and would slow `npm test` down), and formatting
// through @effect/eslint-plugin's dprint rule with the monorepo's dprint options. Left out of the monorepo's set, to
// keep the dev dependencies small: eslint-plugin-import (core no-duplicate-imports stands in for import/no-duplicates),
// eslint-plugin-codegen and eslint-plugin-simple-import-sort (the monorepo has it off).
import * as effectEslint from "@effect/eslint-plugin"
import js from "@eslint/js"
import sortDestructureKeys from "eslint-plugin-sort-destructure-keys"
import { readFileSync } from "node:fs"
import tseslint from "typescript-eslint"

// The Effect 4 edition's verbatim copies of root files (effect4/test/sharedSources.test.ts fails when one drifts):
// the root's file is linted, the copy would be the same work twice.
const sharedCopies = JSON.parse(readFileSync(new URL("./effect4/shared-sources.json", import.meta.url), "utf8"))
  .map((path) => `effect4/${path}`)

export default [
  {
    ignores: [
      "dist/",
      "docs/",
      "coverage/",
      "node_modules/",
      "test/readme/.generated/",
      ".scratch/",
      // the Effect 4 edition (an npm project of its own, linted from here with the same rules)
      "effect4/dist/",
      "effect4/.scratch/",
      ...sharedCopies
    ]
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  ...effectEslint.configs.dprint,
  {
    files: ["**/*.{ts,mts,cts,js,mjs,cjs}"],
    plugins: {
      "sort-destructure-keys": sortDestructureKeys
    },
    languageOptions: {
      parser: tseslint.parser,
      ecmaVersion: 2022,
      sourceType: "module"
    },
    rules: {
      "no-fallthrough": "off",
      "no-irregular-whitespace": "off",
      "object-shorthand": "error",
      "prefer-destructuring": "off",
      "sort-imports": "off",
      "no-restricted-syntax": [
        "error",
        {
          selector: "CallExpression[callee.property.name='push'] > SpreadElement.arguments",
          message: "Do not use spread arguments in Array.push"
        }
      ],
      "no-unused-vars": "off",
      "require-yield": "off",
      "prefer-rest-params": "off",
      "prefer-spread": "off",
      "no-duplicate-imports": ["error", { allowSeparateTypeImports: true }],
      "sort-destructure-keys/sort-destructure-keys": "error",

      "@typescript-eslint/array-type": ["warn", { default: "generic", readonly: "generic" }],
      "@typescript-eslint/no-non-null-assertion": "off",
      "@typescript-eslint/no-explicit-any": "error",
      "@typescript-eslint/no-empty-object-type": "off",
      "@typescript-eslint/no-unsafe-function-type": "off",
      "@typescript-eslint/no-wrapper-object-types": "off",
      "@typescript-eslint/consistent-type-imports": "warn",
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
      "@typescript-eslint/ban-ts-comment": ["error", { "ts-expect-error": "allow-with-description" }],
      "@typescript-eslint/explicit-function-return-type": "off",
      "@typescript-eslint/explicit-module-boundary-types": "off",
      "@typescript-eslint/no-array-constructor": "off",
      "@typescript-eslint/no-use-before-define": "off",
      "@typescript-eslint/no-namespace": "off",

      "@effect/dprint": [
        "error",
        {
          config: {
            indentWidth: 2,
            lineWidth: 120,
            semiColons: "asi",
            quoteStyle: "alwaysDouble",
            trailingCommas: "never",
            operatorPosition: "maintain",
            "arrowFunction.useParentheses": "force"
          }
        }
      ]
    }
  },
  {
    // The plain JavaScript files (bin/, scripts/typecheck-and-lint.mjs, this config) run on Node.
    files: ["**/*.{js,mjs,cjs}"],
    languageOptions: {
      globals: { Buffer: "readonly", console: "readonly", process: "readonly", URL: "readonly" }
    }
  },
  {
    files: ["src/**/*", "test/**/*", "effect4/src/**/*", "effect4/test/**/*"],
    rules: {
      "no-console": "error"
    }
  },
  {
    files: ["src/**/*"],
    rules: {
      "@effect/no-import-from-barrel-package": [
        "error",
        { packageNames: ["effect", "@effect/platform", "@effect/sql"] }
      ]
    }
  },
  {
    files: ["effect4/src/**/*"],
    rules: {
      "@effect/no-import-from-barrel-package": ["error", { packageNames: ["effect"] }]
    }
  }
]
