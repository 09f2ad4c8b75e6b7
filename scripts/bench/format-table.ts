export interface Column {
  title: string;
  /** Numbers read best right-aligned. */
  align?: "left" | "right";
}

/** An aligned plain-text table, indented by two spaces. */
export function formatTable(
  columns: readonly Column[],
  rows: readonly (readonly string[])[],
): string {
  const widths = columns.map((column, i) =>
    Math.max(column.title.length, ...rows.map((row) => row[i]?.length ?? 0)),
  );
  const line = (cells: readonly string[]) =>
    `  ${columns
      .map((column, i) => {
        const cell = cells[i] ?? "";
        const width = widths[i] ?? 0;
        return column.align === "left" ? cell.padEnd(width) : cell.padStart(width);
      })
      .join("  ")}`.trimEnd();
  return [line(columns.map((column) => column.title)), ...rows.map(line)].join("\n");
}

/** `value` with `digits` decimals, or "-" when it is not a number. */
export const fixed = (value: number, digits = 1) =>
  Number.isFinite(value) ? value.toFixed(digits) : "-";
