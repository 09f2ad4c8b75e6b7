import {
  recoverVerdictSigner,
  type Verdict,
  verifyHeartbeat,
  verifyVerdict,
} from "@verity/protocol";
import { afterEach, describe, expect, it, vi } from "vitest";
import {
  embeddingInference,
  postTask,
  strangerAccount,
  taskFor,
  verifierAddress,
  verifierEnv,
} from "../../../test/verify/inference";
import { createVerifierApp } from "./app";
import { sendHeartbeat } from "./send-heartbeat";

afterEach(() => {
  vi.restoreAllMocks();
});

describe("fault modes", () => {
  it("always-invalid signs 'invalid' with its real key though every check passed, claiming its rules check failed", async () => {
    const res = await postTask(createVerifierApp(), await taskFor(await embeddingInference()), {
      FAULT_MODE: "always-invalid",
    });
    expect(res.status).toBe(200);
    const verdict = (await res.json()) as Verdict;
    expect(verdict.outcome).toBe("invalid");
    // The checks it really ran passed; only the claimed rules check says otherwise, so the
    // lie is consistent (a round refuses a verdict whose outcome its checks do not give).
    expect(verdict.checks.map((c) => [c.check, c.status, c.reason])).toEqual([
      ["receipt-integrity@1", "pass", "ok"],
      ["rules@1", "fail", "fault_mode"],
      ["re-execution@1", "pass", expect.any(String)],
    ]);
    expect(await verifyVerdict(verdict)).toMatchObject({ ok: true, signer: verifierAddress });
  });

  it("silent accepts a task and never answers it while the caller waits", async () => {
    const app = createVerifierApp();
    const abort = new AbortController();
    const answer = postTask(
      app,
      await taskFor(await embeddingInference()),
      { FAULT_MODE: "silent" },
      {
        signal: abort.signal,
      },
    );
    const timeout = new Promise((resolve) => setTimeout(() => resolve("still waiting"), 500));
    expect(await Promise.race([answer, timeout])).toBe("still waiting");
    // The caller gives up (as the coordinator's deadline does); only then does the handler end.
    abort.abort();
    const res = await answer;
    expect(res.status).toBe(504);
    const health = (await (
      await app.request("/v1/health", {}, { ...verifierEnv, FAULT_MODE: "silent" })
    ).json()) as {
      verdicts: Record<string, number>;
      faultMode: string;
    };
    expect(health.faultMode).toBe("silent");
    expect(health.verdicts).toEqual({ valid: 0, invalid: 0, abstain: 0 });
  });

  it("silent still refuses a task from another coordinator at once", async () => {
    const res = await postTask(
      createVerifierApp(),
      await taskFor(await embeddingInference(), { coordinator: strangerAccount }),
      { FAULT_MODE: "silent" },
    );
    expect(res.status).toBe(403);
  });

  it("wrong-key signs verdicts in its registered name with a key that is not its registered one", async () => {
    const res = await postTask(createVerifierApp(), await taskFor(await embeddingInference()), {
      FAULT_MODE: "wrong-key",
    });
    expect(res.status).toBe(200);
    const verdict = (await res.json()) as Verdict;
    expect(verdict.verifier).toBe(verifierAddress);
    expect(verdict.outcome).toBe("valid");
    expect(await verifyVerdict(verdict)).toMatchObject({ ok: false, reason: "signer_mismatch" });
    const recovered = await recoverVerdictSigner(verdict);
    expect(recovered.ok && recovered.signer).not.toBe(verifierAddress);
    expect(recovered.ok).toBe(true);
  });

  it("wrong-key still heartbeats with its registered key, so it stays on committees", async () => {
    const bodies: unknown[] = [];
    vi.spyOn(globalThis, "fetch").mockImplementation(async (input, init) => {
      bodies.push(await new Request(input, init).json());
      return Response.json({ ok: true });
    });
    expect((await sendHeartbeat({ ...verifierEnv, FAULT_MODE: "wrong-key" })).ok).toBe(true);
    expect(await verifyHeartbeat(bodies[0])).toMatchObject({ ok: true, signer: verifierAddress });
  });

  it("an unknown FAULT_MODE is a 503 misconfiguration, not a silent default", async () => {
    const res = await createVerifierApp().request(
      "/v1/health",
      {},
      { ...verifierEnv, FAULT_MODE: "sometimes" },
    );
    expect(res.status).toBe(503);
    expect(await res.json()).toMatchObject({ error: { code: "verifier_misconfigured" } });
  });
});
