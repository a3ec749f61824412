/**
 * Small statistics and table helpers for the benchmark's report.
 */

export const median = (values: ReadonlyArray<number>): number => {
  const sorted = [...values].sort((a, b) => a - b)
  if (sorted.length === 0) return Number.NaN
  const mid = Math.floor(sorted.length / 2)
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2
}

export const min = (values: ReadonlyArray<number>): number => Math.min(...values)
export const max = (values: ReadonlyArray<number>): number => Math.max(...values)

/** A number with a fixed count of decimals and thousands separators. */
export const fmt = (value: number, decimals = 0): string =>
  Number.isFinite(value)
    ? value.toLocaleString("en-US", { minimumFractionDigits: decimals, maximumFractionDigits: decimals })
    : "n/a"

export const ratio = (value: number): string => (Number.isFinite(value) ? `${value.toFixed(2)}x` : "n/a")

/** A plain-text table, columns right-aligned except the first. */
export const table = (header: ReadonlyArray<string>, rows: ReadonlyArray<ReadonlyArray<string>>): string => {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => (row[i] ?? "").length)))
  const line = (cells: ReadonlyArray<string>) =>
    cells.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join("  ")
  return [line(header), widths.map((w) => "-".repeat(w)).join("  "), ...rows.map(line)].join("\n")
}

/** Rotates an array by `by` places, so that no contender always runs first in a round. */
export const rotate = <A>(items: ReadonlyArray<A>, by: number): Array<A> => {
  const n = items.length
  if (n === 0) return []
  const k = ((by % n) + n) % n
  return [...items.slice(k), ...items.slice(0, k)]
}
