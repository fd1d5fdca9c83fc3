/** Prints a benchmark's figures as JSON and as a table, each beside its baseline measured in the same run. */

export interface Row {
  metric: string;
  value: number;
  baseline: number | null;
  unit: string;
  target?: string;
  met?: boolean;
}

export function report(name: string, context: Record<string, unknown>, rows: Row[]): void {
  console.log(JSON.stringify({ benchmark: name, ...context, results: rows }, null, 2));
  const header = ['metric', 'value', 'baseline', 'unit', 'target', 'met'];
  const lines = rows.map((r) => [
    r.metric,
    r.value.toFixed(r.unit === 'x' ? 1 : 3),
    r.baseline === null ? '-' : r.baseline.toFixed(3),
    r.unit,
    r.target ?? '-',
    r.met === undefined ? '-' : r.met ? 'yes' : 'NO',
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => (l[i] ?? '').length)));
  const fmt = (cols: string[]) => cols.map((c, i) => c.padEnd(widths[i] ?? 0)).join('  ');
  console.log(`\n${name}`);
  console.log(fmt(header));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const l of lines) console.log(fmt(l));
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}
