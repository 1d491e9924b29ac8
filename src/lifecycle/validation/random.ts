/**
 * A seeded pseudo-random generator (mulberry32) so that bootstrap CIs and simulations are
 * reproducible run to run: a report regenerated from the same data must show the same numbers.
 * Statistical quality is ample for resampling; it is not for cryptography.
 */
export type RandomSource = () => number;

/** Returns a generator of uniform numbers in [0, 1) determined entirely by `seed`. */
export function seededRandom(seed: number): RandomSource {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A standard normal draw (Box–Muller), for simulations. */
export function normalDraw(random: RandomSource): number {
  const u = 1 - random();
  const v = random();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
}
