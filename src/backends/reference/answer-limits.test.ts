import { describe, expect, it } from "vitest";
import verifierConfig from "../../../wrangler.verify.toml?raw";
import { referenceLanguageModel } from "./reference-language-model";
import { REFERENCE_CHAT_MODEL, REFERENCE_MODELS } from "./reference-models";

describe("the reference model's limits and the verifiers' policy", () => {
  it("let the longest answer the gateway allows pass the verifiers' length rule", () => {
    const model = REFERENCE_MODELS.find((m) => m.id === REFERENCE_CHAT_MODEL);
    const longestToken = Math.max(...referenceLanguageModel().vocab.map((t) => t.length));
    // Each token adds itself and at most one space; JSON adds quotes and commas, never more.
    const longestAnswer = (model?.capabilities.maxOutputTokens ?? 0) * (longestToken + 3);
    const limits = [...verifierConfig.matchAll(/^MAX_RESPONSE_CHARS = "(\d+)"$/gm)].map((m) =>
      Number(m[1]),
    );
    expect(limits.length).toBeGreaterThan(0);
    for (const limit of limits) expect(limit).toBeGreaterThanOrEqual(longestAnswer);
  });
});
