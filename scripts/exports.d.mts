/** The public surface: per module, its label and exported names; and the exports whose `@since` is wrong. */
export declare const survey: () => {
  readonly counts: ReadonlyArray<readonly [label: string, names: ReadonlyArray<string>]>
  readonly problems: ReadonlyArray<string>
}
