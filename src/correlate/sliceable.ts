/**
 * A section of the correlation state as a snapshot reads it: its length and a slice at a time.
 * Arrays are sliceable; a snapshot cut while ingest goes on gets compact copies that make their
 * rows only when sliced (see Dedup.cut, ObjectIndex.cut).
 */
export interface Sliceable<T> {
  readonly length: number
  slice (start: number, end: number): T[]
}
