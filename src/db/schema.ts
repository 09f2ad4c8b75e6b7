import { sql } from "drizzle-orm";
import { index, integer, primaryKey, sqliteTable, text } from "drizzle-orm/sqlite-core";

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

/**
 * Verifier nodes the coordinator may pick for a committee. A row is a registration; heartbeats
 * keep `lastSeenAt` fresh, and only recently seen, active verifiers are chosen.
 */
export const verifiers = sqliteTable("verifiers", {
  address: text("address").primaryKey(),
  url: text("url").notNull(),
  status: text("status", { enum: ["active", "removed"] })
    .notNull()
    .default("active"),
  registeredAt: integer("registered_at").notNull(),
  lastSeenAt: integer("last_seen_at"),
  policyHash: text("policy_hash"),
  version: text("version"),
  models: text("models", { mode: "json" }).$type<string[]>(),
});

/** Every accepted verdict of every decided round; votes and agreement are counted from here. */
export const verdicts = sqliteTable(
  "verdicts",
  {
    inferenceId: text("inference_id")
      .notNull()
      .references(() => inferences.id),
    verifier: text("verifier").notNull(),
    outcome: text("outcome", { enum: ["valid", "invalid", "abstain"] }).notNull(),
    /** Whether this verdict agreed with the round's decision. */
    agreed: integer("agreed", { mode: "boolean" }).notNull(),
    verdict: text("verdict", { mode: "json" }).notNull(),
    receivedAt: integer("received_at").notNull(),
  },
  (t) => [
    primaryKey({ columns: [t.inferenceId, t.verifier] }),
    index("verdicts_verifier").on(t.verifier),
  ],
);

/** Refused inputs (forged heartbeats, bad verdicts...), counted by where and why. */
export const refusals = sqliteTable(
  "refusals",
  {
    scope: text("scope").notNull(),
    reason: text("reason").notNull(),
    count: integer("count").notNull().default(0),
    lastAt: integer("last_at").notNull(),
  },
  (t) => [primaryKey({ columns: [t.scope, t.reason] })],
);

export type ApiKey = typeof apiKeys.$inferSelect;
export type Inference = typeof inferences.$inferSelect;
export type NewInference = typeof inferences.$inferInsert;
export type Verifier = typeof verifiers.$inferSelect;
