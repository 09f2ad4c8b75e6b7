import type { LeafTuple } from "@verity/protocol/merkle-leaf";
import type { RoundOutcome } from "@verity/protocol/round-outcome";
import type { BatchSignature } from "@verity/protocol/settlement-batch";
import { sql } from "drizzle-orm";
import {
  index,
  integer,
  primaryKey,
  sqliteTable,
  text,
  uniqueIndex,
} from "drizzle-orm/sqlite-core";
import type { Hex } from "viem";

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
  /** The signed timestamp of the newest heartbeat taken: heartbeats only move forward. */
  heartbeatAt: integer("heartbeat_at"),
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

export type ApiKey = typeof apiKeys.$inferSelect;
export type Inference = typeof inferences.$inferSelect;
export type NewInference = typeof inferences.$inferInsert;
export type Verifier = typeof verifiers.$inferSelect;

/**
 * Settlement: every decided round (verified or rejected) as the `verified-inferences` queue
 * delivered it, one row per inference whatever the number of deliveries. `batch` and
 * `treeIndex` are set when the settler puts the record's leaf into a batch.
 */
export const settlementRecords = sqliteTable(
  "settlement_records",
  {
    inferenceId: text("inference_id").primaryKey(),
    outcome: text("outcome", { enum: ["verified", "rejected"] }).notNull(),
    /** The `RoundOutcome` message: co-signing verifiers re-derive the leaf from it. */
    roundOutcome: text("round_outcome", { mode: "json" }).$type<RoundOutcome>().notNull(),
    /** `leafTuple(leafFromOutcome(roundOutcome))`, in its version's order (`leafTypes`). */
    leaf: text("leaf", { mode: "json" }).$type<LeafTuple>().notNull(),
    /** `leafHash` of it, computed once on arrival: batches' trees are built from these. */
    leafHash: text("leaf_hash").$type<Hex>().notNull(),
    decidedAt: integer("decided_at").notNull(),
    receivedAt: integer("received_at").notNull(),
    /** `settlement_batches.id` once batched. */
    batch: integer("batch").references(() => settlementBatches.id),
    /** The leaf's index in its batch's tree array (`StandardMerkleTree.dump().tree`). */
    treeIndex: integer("tree_index"),
    /**
     * Why the record cannot be settled now (its verdicts no longer make a quorum of registered
     * verifiers), set instead of putting it in a batch. The settler checks it again every tick
     * and clears it once the cause is gone.
     */
    setAsideReason: text("set_aside_reason"),
    setAsideAt: integer("set_aside_at"),
  },
  // Unbatched records oldest first (`batch is null`), and one batch's records.
  (t) => [index("settlement_records_batch").on(t.batch, t.decidedAt, t.inferenceId)],
);

export const settlementBatchStatuses = ["pending", "submitted", "confirmed", "dissolved"] as const;
export type SettlementBatchStatus = (typeof settlementBatchStatuses)[number];

/**
 * Batches of settlement records, one row per Merkle root. `pending`: built, not sent (the
 * `reason` says why, e.g. too few co-signatures); `submitted`: `settleBatch` sent as `txHash`
 * (mined in `blockNumber`/`blockHash` once seen); `confirmed`: `CONFIRMATIONS` deep, final;
 * `dissolved`: no verifier co-signed it and they refused some of its records, so its records went
 * back in line without those (its batch id is never used again).
 */
export const settlementBatches = sqliteTable(
  "settlement_batches",
  {
    /** Local key; `batchId` is the id on the ledger and may change if it was taken there. */
    id: integer("id").primaryKey(),
    chainId: integer("chain_id").notNull(),
    ledger: text("ledger").notNull(),
    /** The ledger's `uint64` batch id: sequential per ledger, from 1. */
    batchId: integer("batch_id").notNull(),
    root: text("root").notNull(),
    count: integer("count").notNull(),
    status: text("status", { enum: settlementBatchStatuses }).notNull().default("pending"),
    /** Why a pending batch is waiting, or what the last attempt ran into. */
    reason: text("reason"),
    /** The co-signatures collected for the current `batchId`, so a re-submission needs none again. */
    signatures: text("signatures", { mode: "json" }).$type<BatchSignature[]>(),
    /** The settler (signing key) address that builds and submits this batch. */
    settler: text("settler").notNull(),
    txHash: text("tx_hash"),
    /** The settler's nonce of `txHash`; null when the settling transaction is someone else's. */
    nonce: integer("nonce"),
    submittedAt: integer("submitted_at"),
    submissions: integer("submissions").notNull().default(0),
    blockNumber: integer("block_number"),
    blockHash: text("block_hash"),
    createdAt: integer("created_at").notNull(),
    updatedAt: integer("updated_at").notNull(),
    confirmedAt: integer("confirmed_at"),
  },
  (t) => [
    uniqueIndex("settlement_batches_ledger_batch").on(t.chainId, t.ledger, t.batchId),
    index("settlement_batches_status").on(t.status),
  ],
);

/**
 * Every node hash of every batch's tree (`StandardMerkleTree.dump().tree`, root at 0), so a
 * proof is one indexed read of its O(log n) sibling hashes, never a rebuilt tree.
 */
export const settlementTreeNodes = sqliteTable(
  "settlement_tree_nodes",
  {
    batch: integer("batch")
      .notNull()
      .references(() => settlementBatches.id),
    nodeIndex: integer("node_index").notNull(),
    hash: text("hash").notNull(),
  },
  (t) => [primaryKey({ columns: [t.batch, t.nodeIndex] })],
);

/** Messages that exhausted their retries on `verified-inferences` (its dead-letter queue). */
export const settlementDeadLetters = sqliteTable("settlement_dead_letters", {
  messageId: text("message_id").primaryKey(),
  queue: text("queue").notNull(),
  /** The message body as JSON, whatever it was. */
  body: text("body").notNull(),
  /** Why it cannot be settled, when the body says (validation errors). */
  error: text("error"),
  attempts: integer("attempts").notNull(),
  sentAt: integer("sent_at").notNull(),
  receivedAt: integer("received_at").notNull(),
});

export type SettlementRecord = typeof settlementRecords.$inferSelect;
export type SettlementBatchRow = typeof settlementBatches.$inferSelect;
