// Reads sample values out of the Prometheus text format that /metrics serves. Enough for the
// demo's live summary: sums of one metric's samples, optionally filtered by label values.

/** Sum of the samples of `name` (exact metric name) whose labels include every pair of `where`. */
export function sumSamples(text: string, name: string, where: Record<string, string> = {}): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const rest = line.slice(name.length);
    if (rest[0] !== ' ' && rest[0] !== '{') continue; // a longer name with the same prefix
    const labels = rest[0] === '{' ? rest.slice(1, rest.indexOf('}')) : '';
    if (!Object.entries(where).every(([k, v]) => labels.includes(`${k}="${v}"`))) continue;
    const value = Number(rest.slice(rest[0] === '{' ? rest.indexOf('}') + 1 : 0).trim().split(' ')[0]);
    if (Number.isFinite(value)) sum += value;
  }
  return sum;
}
