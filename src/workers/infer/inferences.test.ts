import { describe, expect, it } from "vitest";
import { createTestKey, gatewayFetch } from "../../../test/gateway";

describe("GET /v1/inferences/{id}", () => {
  it("returns the record, receipt and status to the key that made the call, and 404 to others", async () => {
    const owner = await createTestKey();
    const other = await createTestKey();
    const res = await gatewayFetch("/v1/chat/completions", {
      method: "POST",
      key: owner.key,
      json: { model: "verity-ngram-1", messages: [{ role: "user", content: "hi" }], max_tokens: 5 },
    });
    const { verity } = (await res.json()) as { verity: { inference_id: string; receipt: unknown } };
    const mine = await gatewayFetch(`/v1/inferences/${verity.inference_id}`, { key: owner.key });
    expect(mine.status).toBe(200);
    expect(await mine.json()).toMatchObject({
      id: verity.inference_id,
      object: "inference",
      status: "pending",
      kind: "chat",
      model: "verity-ngram-1",
      backend: "reference",
      receipt: verity.receipt,
      request: { kind: "chat", max_tokens: 5 },
    });
    const theirs = await gatewayFetch(`/v1/inferences/${verity.inference_id}`, { key: other.key });
    expect(theirs.status).toBe(404);
    const none = await gatewayFetch("/v1/inferences/0190a0a0-0000-7000-8000-000000000000", {
      key: owner.key,
    });
    expect(none.status).toBe(404);
  });
});
