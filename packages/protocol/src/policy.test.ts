import { describe, expect, it } from "vitest";
import { hashCanonical } from "./canonical";
import { CHECKS, createVerificationPolicy, policyHash, VerificationPolicy } from "./policy";

const A = "0xa0Ee7A142d267C1f36714E4a8F75612F20a79720";
const B = "0x23618e81E3f5cdF7f54C3d65f7FBc0aBf5B21E8f";

describe("createVerificationPolicy", () => {
  it("names and versions the four checks, in the order they run", () => {
    const policy = createVerificationPolicy({
      inferenceNodes: [],
      maxResponseChars: 10,
      denyPatterns: [],
    });
    expect(policy.checks).toEqual([
      "receipt-integrity@1",
      "rules@1",
      "history@1",
      "re-execution@1",
    ]);
    expect(Object.values(CHECKS)).toEqual(policy.checks);
    expect(policy.reExecution.embeddingMinCosine).toBe(0.9999);
  });

  it("gives the same policy and hash for the same configuration written differently", () => {
    const a = createVerificationPolicy({
      inferenceNodes: [A, B],
      maxResponseChars: 100,
      denyPatterns: ["bomb", "\\bkill\\b"],
    });
    const b = createVerificationPolicy({
      inferenceNodes: [B.toLowerCase(), A, A],
      maxResponseChars: 100,
      denyPatterns: ["\\bkill\\b", "bomb", "bomb"],
    });
    expect(b).toEqual(a);
    expect(policyHash(b)).toBe(policyHash(a));
    expect(a.receiptIntegrity.inferenceNodes).toEqual([B, A]);
  });

  it("changes the hash with any setting that can change a verdict", () => {
    const base = { inferenceNodes: [A], maxResponseChars: 100, denyPatterns: ["x"] };
    const hashes = [
      base,
      { ...base, inferenceNodes: [A, B] },
      { ...base, maxResponseChars: 101 },
      { ...base, denyPatterns: ["y"] },
      { ...base, embeddingMinCosine: 0.99 },
    ].map((o) => policyHash(createVerificationPolicy(o)));
    expect(new Set(hashes).size).toBe(hashes.length);
    expect(hashes[0]).toBe(hashCanonical(createVerificationPolicy(base)));
  });

  it("refuses an invalid regular expression, address or threshold", () => {
    const base = { inferenceNodes: [A], maxResponseChars: 100, denyPatterns: [] };
    expect(() => createVerificationPolicy({ ...base, denyPatterns: ["(unclosed"] })).toThrow(
      /regular expression/,
    );
    expect(() => createVerificationPolicy({ ...base, inferenceNodes: ["0x1234"] })).toThrow();
    expect(() => createVerificationPolicy({ ...base, embeddingMinCosine: 1.5 })).toThrow();
    expect(() => createVerificationPolicy({ ...base, maxResponseChars: 0 })).toThrow();
  });

  it("still parses a policy from before history@1, whose hash differs", () => {
    const policy = createVerificationPolicy({
      inferenceNodes: [A],
      maxResponseChars: 5,
      denyPatterns: [],
    });
    const earlier = { ...policy, checks: ["receipt-integrity@1", "rules@1", "re-execution@1"] };
    expect(VerificationPolicy.parse(earlier)).toEqual(earlier);
    expect(policyHash(VerificationPolicy.parse(earlier))).not.toBe(policyHash(policy));
  });

  it("parses back from its JSON form unchanged", () => {
    const policy = createVerificationPolicy({
      inferenceNodes: [A],
      maxResponseChars: 5,
      denyPatterns: ["a,b"],
    });
    expect(VerificationPolicy.parse(JSON.parse(JSON.stringify(policy)))).toEqual(policy);
  });
});
