import { canonicalJson } from "@verity/protocol/canonical";
import { ProtocolError } from "@verity/protocol/protocol-error";
import { describe, expect, it, vi } from "vitest";
import { VerityError } from "../errors";
import { errorResponse } from "./error-response";

const refusal = (value: unknown) => {
  try {
    canonicalJson(value);
  } catch (err) {
    return err;
  }
  throw new Error("expected canonicalJson to refuse");
};

describe("errorResponse", () => {
  it("answers a protocol refusal as a 400 in OpenAI's shape, its reason as the code and its path as the param", async () => {
    const err = refusal({ messages: [{ content: "a\uD800" }] });
    expect(err).toBeInstanceOf(ProtocolError);
    const res = errorResponse(err);
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({
      error: {
        message: expect.stringContaining("lone surrogate"),
        type: "invalid_request_error",
        param: "messages.0.content",
        code: "invalid_json_value",
      },
    });
  });

  it("answers a VerityError as it says, and anything else as a 500 that tells nothing", async () => {
    const refused = errorResponse(
      new VerityError("nope", { status: 403, type: "permission_error", code: "not_yours" }),
    );
    expect(refused.status).toBe(403);
    expect(await refused.json()).toMatchObject({ error: { code: "not_yours" } });
    const log = vi.spyOn(console, "error").mockImplementation(() => {});
    const bug = errorResponse(new TypeError("secret detail"));
    expect(bug.status).toBe(500);
    expect(JSON.stringify(await bug.json())).not.toContain("secret detail");
    log.mockRestore();
  });
});
