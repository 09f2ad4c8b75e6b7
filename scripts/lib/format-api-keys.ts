import type { ApiKeyRecord } from "./api-key-store.ts";

/** An aligned table: id, name, prefix, rate limit, created, revoked. */
export function formatApiKeys(keys: readonly ApiKeyRecord[]): string {
  const header = ["ID", "NAME", "PREFIX", "RATE/MIN", "CREATED", "REVOKED"];
  const rows = keys.map((key) => [
    key.id,
    key.name,
    `${key.prefix}…`,
    String(key.rateLimitPerMinute),
    isoMinute(key.createdAt),
    key.revokedAt === null ? "-" : isoMinute(key.revokedAt),
  ]);
  const widths = header.map((title, i) =>
    Math.max(title.length, ...rows.map((row) => row[i]?.length ?? 0)),
  );
  const line = (cells: string[]) =>
    cells
      .map((cell, i) => (i === 3 ? cell.padStart(widths[i] ?? 0) : cell.padEnd(widths[i] ?? 0)))
      .join("  ")
      .trimEnd();
  return [line(header), ...rows.map(line)].join("\n");
}

const isoMinute = (ms: number) => `${new Date(ms).toISOString().slice(0, 16).replace("T", " ")}Z`;
