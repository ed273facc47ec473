/**
 * "Did you mean …?" for mistyped verbs and keywords.
 *
 * @module
 */

/** Optimal string alignment distance (Levenshtein plus adjacent transpositions). */
export function editDistance(a: string, b: string): number {
  const d: number[][] = [];
  for (let i = 0; i <= a.length; i++) d.push([i]);
  for (let j = 1; j <= b.length; j++) d[0][j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
      }
    }
  }
  return d[a.length][b.length];
}

/**
 * The candidates closest to `word`: the unique one it is a prefix of, else those within
 * an edit distance of 2 that keep at least 40% of the word (as commander judges it).
 */
export function suggest(word: string, candidates: readonly string[]): string[] {
  const w = word.toLowerCase();
  // No command is long: a long word is no typo of one (and the distance is quadratic).
  if (w === "" || w.length > 64) return [];
  const prefixed = candidates.filter((c) => c.startsWith(w));
  if (prefixed.length === 1) return prefixed;
  let best = Infinity;
  let out: string[] = [];
  for (const c of candidates) {
    const dist = editDistance(w, c);
    const longest = Math.max(w.length, c.length);
    if (dist > 2 || (longest - dist) / longest <= 0.4) continue;
    if (dist < best) {
      best = dist;
      out = [c];
    } else if (dist === best) out.push(c);
  }
  return out;
}

/** " — did you mean 'map'?" (or '' when nothing is close). */
export function didYouMean(word: string, candidates: readonly string[]): string {
  const s = suggest(word, candidates);
  if (s.length === 0) return "";
  return ` — did you mean ${s.map((c) => `'${c}'`).join(" or ")}?`;
}
