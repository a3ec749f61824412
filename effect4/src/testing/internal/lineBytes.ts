/**
 * JSONL lines held as UTF-8 bytes with their end offsets: lines are appended as strings and encoded a chunk at a
 * time, and files are cut out of the bytes by copying ranges. A batch's result lines live here from its creation
 * to its end: as bytes they are off the JavaScript heap, so a large results file costs the garbage collector
 * nothing, and writing the output file at the end is a copy, not a string join per line and an encode (measured
 * on a large job against keeping strings: less CPU).
 *
 * @internal
 */

const encoder = new TextEncoder()

/** Lines encoded together: large enough for one encode to be cheap per line, small enough to die young. */
const chunkLines = 1024

/** @internal */
export interface LineBytes {
  readonly bytes: Uint8Array
  /** `ends[i]` is the offset just past line `i`'s newline; line `i` starts at `ends[i - 1]` (or 0). */
  readonly ends: ReadonlyArray<number>
}

/** Collects lines; `done` returns them as bytes. @internal */
export const builder = () => {
  const chunks: Array<Uint8Array> = []
  const ends: Array<number> = []
  let pending: Array<string> = []
  let chars = 0
  let size = 0
  const flush = () => {
    if (pending.length === 0) return
    const bytes = encoder.encode(`${pending.join("\n")}\n`)
    // UTF-8 has as many bytes as UTF-16 has code units only when every character is ASCII.
    const ascii = bytes.length === chars + pending.length
    let offset = size
    for (const line of pending) {
      offset += (ascii ? line.length : encoder.encode(line).length) + 1
      ends.push(offset)
    }
    chunks.push(bytes)
    size += bytes.length
    pending = []
    chars = 0
  }
  const add = (line: string): void => {
    pending.push(line)
    chars += line.length
    if (pending.length === chunkLines) flush()
  }
  const done = (): LineBytes => {
    flush()
    if (chunks.length === 1) return { bytes: chunks[0]!, ends }
    const bytes = new Uint8Array(size)
    let offset = 0
    for (const chunk of chunks) {
      bytes.set(chunk, offset)
      offset += chunk.length
    }
    return { bytes, ends }
  }
  return { add, done }
}

/**
 * The lines among the first `count` for which `keep(i)` holds, in order, as one file; `undefined` when none.
 * Consecutive kept lines are copied as one range; a single range is shared, not copied (files never change).
 *
 * @internal
 */
export const pick = (lines: LineBytes, count: number, keep: (index: number) => boolean): Uint8Array | undefined => {
  const ranges: Array<number> = []
  let size = 0
  for (let i = 0; i < count; i++) {
    if (!keep(i)) continue
    const start = i === 0 ? 0 : lines.ends[i - 1]!
    const end = lines.ends[i]!
    if (ranges.length > 0 && ranges[ranges.length - 1] === start) ranges[ranges.length - 1] = end
    else ranges.push(start, end)
    size += end - start
  }
  if (ranges.length === 0) return undefined
  if (ranges.length === 2) return lines.bytes.subarray(ranges[0]!, ranges[1]!)
  const file = new Uint8Array(size)
  let offset = 0
  for (let r = 0; r < ranges.length; r += 2) {
    const range = lines.bytes.subarray(ranges[r]!, ranges[r + 1]!)
    file.set(range, offset)
    offset += range.length
  }
  return file
}
