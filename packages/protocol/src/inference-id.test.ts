import { describe, expect, it } from "vitest";
import { InferenceId, inferenceIdTimestamp, newInferenceId } from "./inference-id";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe("newInferenceId", () => {
  it("makes lowercase UUIDv7 ids that the InferenceId schema accepts", () => {
    const id = newInferenceId();
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(InferenceId.parse(id)).toBe(id);
  });

  it("sorts ids made within the same millisecond in creation order", () => {
    // workerd's clock stands still between I/O, so all of these share a timestamp.
    const ids = Array.from({ length: 1000 }, newInferenceId);
    expect(new Set(ids).size).toBe(ids.length);
    expect([...ids].sort()).toEqual(ids);
  });

  it("sorts ids made later after earlier ones and embeds their creation time", async () => {
    const ids: string[] = [];
    const times: number[] = [];
    for (let i = 0; i < 5; i++) {
      times.push(Date.now());
      ids.push(newInferenceId());
      await sleep(3);
    }
    expect([...ids].sort()).toEqual(ids);
    // The creation time, or a moment after it: ids stay increasing in an isolate, so an id made
    // right after one stamped by a context whose clock reads later (workerd freezes the clock per
    // event, and test files share the isolate) carries that later time.
    ids.forEach((id, i) => {
      const time = times[i] as number;
      expect(inferenceIdTimestamp(id)).toBeGreaterThanOrEqual(time);
      expect(inferenceIdTimestamp(id)).toBeLessThan(time + 1_000);
    });
    expect(inferenceIdTimestamp(ids[4] as string)).toBeGreaterThan(
      inferenceIdTimestamp(ids[0] as string),
    );
  });
});

describe("inferenceIdTimestamp", () => {
  it("reads the 48-bit unix-ms prefix", () => {
    expect(inferenceIdTimestamp("019b76da-a800-7c1f-9a2b-4d3e5f607182")).toBe(Date.UTC(2026, 0, 1));
  });
});

describe("InferenceId", () => {
  it.each([
    ["uppercase hex", "019B76DA-A800-7C1F-9A2B-4D3E5F607182"],
    ["a UUIDv4", "9b2c1f3e-8a4d-4e5f-9a2b-4d3e5f607182"],
    ["a wrong variant", "019b76da-a800-7c1f-2a2b-4d3e5f607182"],
    ["no dashes", "019b76daa8007c1f9a2b4d3e5f607182"],
    ["braces", "{019b76da-a800-7c1f-9a2b-4d3e5f607182}"],
  ])("refuses %s", (_, id) => {
    expect(InferenceId.safeParse(id).success).toBe(false);
  });
});
