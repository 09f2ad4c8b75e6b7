// Checks the committed request and response vectors (scripts/gen-request-vectors.ts writes them,
// by hand) against the protocol's schemas and hashes: how tools, JSON output, n, logprobs,
// penalties, logit_bias and dimensions are written and hashed must not drift.
import {
  canonicalJson,
  NormalizedRequest,
  ResponseContent,
  requestHash,
  responseHash,
} from "@verity/protocol";
import { keccak256, stringToBytes } from "viem";
import { describe, expect, it } from "vitest";
import vectors from "./requests.json";

describe("request and response vectors", () => {
  it.each(vectors.cases.map((c) => [c.name, c] as const))(
    "%s: parses strictly, and its canonical JSON and hashes match",
    (_, c) => {
      const request = NormalizedRequest.parse(c.request);
      const response = ResponseContent.parse(c.response);
      expect(canonicalJson(request)).toBe(c.requestJson);
      expect(canonicalJson(response)).toBe(c.responseJson);
      expect(requestHash(request)).toBe(c.requestHash);
      expect(keccak256(stringToBytes(c.requestJson))).toBe(c.requestHash);
      expect(responseHash(response)).toBe(c.responseHash);
    },
  );

  it("refuses a default written out, an unknown member, or a tool message outside the roles", () => {
    const [toolCase] = vectors.cases;
    const base = toolCase?.request as Record<string, unknown>;
    expect(NormalizedRequest.safeParse({ ...base, n: 1 }).success).toBe(false);
    expect(NormalizedRequest.safeParse({ ...base, logprobs: false }).success).toBe(false);
    expect(NormalizedRequest.safeParse({ ...base, parallel_tool_calls: true }).success).toBe(false);
    expect(NormalizedRequest.safeParse({ ...base, store: true }).success).toBe(false);
    expect(
      NormalizedRequest.safeParse({
        ...base,
        messages: [{ role: "function", content: "x" }],
      }).success,
    ).toBe(false);
  });
});
