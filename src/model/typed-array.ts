/**
 * Typed arrays that hold per-slot state (the limiter's windows, the usage recorder's rows) grow
 * by copying into a larger one: Node cannot resize them in place.
 */
export function grown<T extends Uint8Array | Uint16Array | Uint32Array | Int32Array | Float64Array>(from: T, into: T): T {
  into.set(from);
  return into;
}
