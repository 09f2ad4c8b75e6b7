import { sql } from "drizzle-orm";
import { index, integer, sqliteTable, text } from "drizzle-orm/sqlite-core";

/** API keys. Only the SHA-256 of a key is stored; `prefix` is its first characters, for humans. */
export const apiKeys = sqliteTable("api_keys", {
  id: text("id").primaryKey(),
  name: text("name").notNull(),
  keyHash: text("key_hash").notNull().unique(),
  prefix: text("prefix").notNull(),
  rateLimitPerMinute: integer("rate_limit_per_minute").notNull().default(600),
  createdAt: integer("created_at").notNull(),
  revokedAt: integer("revoked_at"),
});

export const inferenceStatuses = [
  "pending",
  "verified",
  "rejected",
  "inconclusive",
  "settled",
] as const;
export type InferenceStatus = (typeof inferenceStatuses)[number];

/** One row per completed inference: what was asked, what was answered, and the signed receipt. */
export const inferences = sqliteTable(
  "inferences",
  {
    id: text("id").primaryKey(),
    apiKeyId: text("api_key_id")
      .notNull()
      .references(() => apiKeys.id),
    kind: text("kind", { enum: ["chat", "embedding"] }).notNull(),
    model: text("model").notNull(),
    backend: text("backend").notNull(),
    /** The normalised request, exactly as hashed into `requestHash`. */
    request: text("request", { mode: "json" }).notNull(),
    /** The normalised response content, exactly as hashed into `responseHash`. */
    response: text("response", { mode: "json" }).notNull(),
    usage: text("usage", { mode: "json" }).notNull(),
    receipt: text("receipt", { mode: "json" }).notNull(),
    requestHash: text("request_hash").notNull(),
    responseHash: text("response_hash").notNull(),
    stream: integer("stream", { mode: "boolean" }).notNull(),
    user: text("user"),
    status: text("status", { enum: inferenceStatuses }).notNull().default("pending"),
    createdAt: integer("created_at").notNull(),
    updatedAt: integer("updated_at").notNull().default(sql`(unixepoch() * 1000)`),
  },
  (t) => [
    index("inferences_key_created").on(t.apiKeyId, t.createdAt),
    index("inferences_status").on(t.status),
  ],
);

export type ApiKey = typeof apiKeys.$inferSelect;
export type Inference = typeof inferences.$inferSelect;
export type NewInference = typeof inferences.$inferInsert;
