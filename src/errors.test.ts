import { describe, expect, it } from "vitest";
import { invalidRequest } from "./errors";

describe("VerityError.withParam", () => {
  it("renames the field in param and where the message names it, and nowhere else", () => {
    const err = invalidRequest("Invalid 'id': expected string, received undefined", "id");
    const renamed = err.withParam("input.0.id");
    expect(renamed.param).toBe("input.0.id");
    expect(renamed.message).toBe("Invalid 'input.0.id': expected string, received undefined");
    expect(renamed).toMatchObject({ status: 400, type: err.type, code: err.code });
  });

  it("leaves a name inside a longer name alone", () => {
    const err = invalidRequest("top_logprobs requires logprobs to be true.", "logprobs");
    expect(err.withParam("include").message).toBe("top_logprobs requires include to be true.");
  });
});
