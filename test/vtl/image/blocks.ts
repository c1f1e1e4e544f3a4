/** Deterministic block contents: the seed and length are recoverable from the bytes. */
export function block(seed: number, size: number): Buffer {
  const b = Buffer.alloc(size);
  for (let i = 0; i < size; i++) b[i] = (seed * 31 + i) & 0xff;
  return b;
}
