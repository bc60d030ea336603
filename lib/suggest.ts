/** "Did you mean": the known names nearest to a mistyped one, by edit distance (fastest-levenshtein). */
import { distance } from 'fastest-levenshtein';

/**
 * Up to `limit` candidates within a small edit distance of `name` (a third of its length, at least 2),
 * nearest first; case is ignored for the distance. Empty when nothing is close.
 */
export function nearest(name: string, candidates: Iterable<string>, limit = 3): string[] {
  const wanted = name.toLowerCase();
  const bound = Math.max(2, Math.floor(name.length / 3));
  return [...new Set(candidates)]
    .map((c) => ({ c, d: distance(wanted, c.toLowerCase()) }))
    .filter(({ d }) => d <= bound)
    .sort((a, b) => a.d - b.d || a.c.localeCompare(b.c))
    .slice(0, limit)
    .map(({ c }) => c);
}
