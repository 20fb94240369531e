/** Plain-text tables for terminals and CI logs: columns padded to their widest cell, numbers right-aligned. */

export interface Column {
  header: string;
  align?: 'left' | 'right';
  /** Wraps the padded cell, e.g. in colour codes, without changing its width. */
  decorate?: (padded: string, row: number) => string;
}

export function textTable(columns: readonly Column[], rows: readonly (readonly string[])[]): string[] {
  const widths = columns.map((c, i) => Math.max(c.header.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[], row: number | undefined) =>
    columns
      .map((c, i) => {
        const cell = cells[i] ?? '';
        const w = widths[i]!;
        const padded = c.align === 'right' ? cell.padStart(w) : cell.padEnd(w);
        return row !== undefined && c.decorate ? c.decorate(padded, row) : padded;
      })
      .join('  ')
      .trimEnd();
  return [line(columns.map((c) => c.header), undefined), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map((r, i) => line(r, i))];
}
