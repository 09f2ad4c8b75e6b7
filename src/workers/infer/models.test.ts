import { beforeAll, describe, expect, it } from "vitest";
import { createTestKey, gatewayFetch } from "../../../test/gateway";

let key: string;
beforeAll(async () => {
  ({ key } = await createTestKey());
});

describe("models", () => {
  it("lists the reference models offline", async () => {
    const res = await gatewayFetch("/v1/models", { key });
    const body = (await res.json()) as { object: string; data: { id: string; object: string }[] };
    expect(body.object).toBe("list");
    expect(body.data.map((m) => m.id)).toEqual(
      expect.arrayContaining(["verity-ngram-1", "verity-embed-1"]),
    );
    expect(body.data.every((m) => m.object === "model")).toBe(true);
  });

  it("retrieves one model, and 404s an unknown one", async () => {
    const res = await gatewayFetch("/v1/models/verity-ngram-1", { key });
    expect(await res.json()).toMatchObject({
      id: "verity-ngram-1",
      object: "model",
      owned_by: "verity",
    });
    const missing = await gatewayFetch("/v1/models/@cf/nobody/nothing", { key });
    expect(missing.status).toBe(404);
  });
});
