/**
 * A plain-text table: columns padded to their widest cell, two spaces apart, trailing blanks cut.
 * `rule` adds a line of dashes under the header.
 */
export function renderTable(header: string[], rows: string[][], options: { rule?: boolean } = {}): string[] {
  const widths = header.map((h, i) => rows.reduce((width, cells) => Math.max(width, (cells[i] ?? '').length), h.length));
  const line = (cells: string[]) =>
    cells
      .map((cell, i) => cell.padEnd(widths[i] as number))
      .join('  ')
      .trimEnd();
  return [line(header), ...(options.rule ? [widths.map((w) => '-'.repeat(w)).join('  ')] : []), ...rows.map(line)];
}
