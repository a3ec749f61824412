// Types of node.mjs, for the TypeScript scripts that use it (check-consumer.ts).

/** The oldest Node the Effect 4 edition runs on. */
export declare const minimum: string
/** True when `version` is at least `minimum`. */
export declare const isRecentEnough: (version: string) => boolean
/** The Node to run the Effect 4 edition on, or `undefined` when there is none here. */
export declare const findNode: () =>
  | { readonly path: string; readonly version: string; readonly source: string }
  | undefined
/** How to run the Effect 4 edition's tests when there is no such Node. */
export declare const howToRun: () => string
/** Installs the pinned Node into effect4/node22 when the current one is too old (`force`: whatever the current). */
export declare const install: (options?: { readonly force?: boolean }) => string
