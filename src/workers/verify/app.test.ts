import { env, exports } from "cloudflare:workers";
import {
  type CheckResult,
  createVerificationPolicy,
  policyHash,
  receiptDigest,
  recoverVerdictSigner,
  signTaskEnvelope,
  type Verdict,
  verifyVerdict,
} from "@verity/protocol";
import { describe, expect, it, onTestFinished, vi } from "vitest";
import {
  chatInference,
  coordinatorAccount,
  embeddingInference,
  nodeAccount,
  postTask,
  signInference,
  strangerAccount,
  taskFor,
  verifierAddress,
  verifierEnv,
} from "../../../test/verify/inference";
import { createVerifierApp } from "./app";

const judge = async (body: unknown, overrides: Partial<VerifyEnv> = {}) => {
  const res = await postTask(createVerifierApp(), body, overrides);
  expect(res.status).toBe(200);
  return (await res.json()) as Verdict;
};

const check = (verdict: Verdict, name: string): CheckResult | undefined =>
  verdict.checks.find((c) => c.check === name);

interface ErrorBody {
  error: { message: string; type: string; param: string | null; code: string };
}

describe("GET /v1/health", () => {
  it("states the verifier's address, version, policy hash and the models it can re-execute", async () => {
    const res = await exports.default.fetch("http://verifier.test/v1/health");
    expect(res.status).toBe(200);
    const body = (await res.json()) as Record<string, unknown>;
    const expectedPolicy = createVerificationPolicy({
      inferenceNodes: [nodeAccount.address],
      maxResponseChars: Number(env.MAX_RESPONSE_CHARS),
      denyPatterns: [],
    });
    expect(body).toMatchObject({
      address: verifierAddress,
      version: "0.1.0",
      policyHash: policyHash(expectedPolicy),
      models: ["verity-ngram-1", "verity-embed-1"],
      coordinator: coordinatorAccount.address,
      faultMode: null,
      policy: expectedPolicy,
    });
  });
});

describe("POST /v1/tasks", () => {
  it("judges a task once: delivered again, it gets the same verdict and nothing is judged again", async () => {
    const app = createVerifierApp();
    const signed = await taskFor(await chatInference());
    const first = await postTask(app, signed);
    const again = await postTask(app, signed);
    expect([first.status, again.status]).toEqual([200, 200]);
    expect(await again.text()).toBe(await first.text());
    const health = (await (await app.request("/v1/health", {}, verifierEnv)).json()) as {
      verdicts: Record<string, number>;
    };
    expect(health.verdicts.valid).toBe(1);
  });

  it("sheds tasks past its limit in progress with 503 overloaded and retry-after, counts them, and judges the rest", async () => {
    const app = createVerifierApp({ maxConcurrentTasks: 1 });
    const tasks = await Promise.all(
      Array.from({ length: 4 }, async () => taskFor(await chatInference())),
    );
    const answers = await Promise.all(tasks.map((t) => postTask(app, t)));
    const shed = answers.filter((r) => r.status === 503);
    expect(answers.filter((r) => r.status === 200).length).toBeGreaterThan(0);
    const first = shed[0];
    if (!first) throw new Error("no task was shed");
    expect(first.headers.get("retry-after")).toBe("1");
    expect(((await first.json()) as ErrorBody).error).toMatchObject({
      type: "service_unavailable",
      code: "overloaded",
    });
    const health = (await (await app.request("/v1/health", {}, verifierEnv)).json()) as {
      refused: Record<string, number>;
    };
    expect(health.refused.overloaded).toBe(shed.length);
    // Once the load is gone, the same task is judged.
    const again = await postTask(app, tasks[answers.indexOf(first)]);
    expect(again.status).toBe(200);
  });

  it("deeply nested JSON is refused as a 4xx, never a 500", async () => {
    const nested = `${'{"a":'.repeat(2_500)}1${"}".repeat(2_500)}`;
    // Unsigned, it is refused for that; signed, for its shape.
    const unsigned = await postTask(createVerifierApp(), nested);
    expect(unsigned.status).toBe(401);
    const signed = await postTask(createVerifierApp(), `{"signature":"0x","task":${nested}}`);
    expect(signed.status).toBe(400);
  });

  it("a valid chat task gets a valid verdict signed by the node key", async () => {
    const signed = await taskFor(await chatInference());
    const verdict = await judge(signed);
    expect(verdict.outcome).toBe("valid");
    expect(verdict.checks).toEqual([
      { check: "receipt-integrity@1", status: "pass", reason: "ok" },
      { check: "rules@1", status: "pass", reason: "ok" },
      { check: "re-execution@1", status: "pass", reason: "response_hash_matched" },
    ]);
    expect(verdict.inferenceId).toBe(signed.task.inferenceId);
    expect(verdict.receiptDigest).toBe(receiptDigest(signed.task.receipt));
    expect(verdict.verifier).toBe(verifierAddress);
    expect(await verifyVerdict(verdict)).toMatchObject({ ok: true, signer: verifierAddress });
  });

  it("a valid embedding task gets a valid verdict: every vector re-computed within the cosine threshold", async () => {
    const verdict = await judge(await taskFor(await embeddingInference()));
    expect(verdict.outcome).toBe("valid");
    expect(check(verdict, "re-execution@1")).toMatchObject({
      status: "pass",
      reason: "embeddings_matched",
    });
    expect(await recoverVerdictSigner(verdict)).toMatchObject({
      ok: true,
      signer: verifierAddress,
    });
  });

  it("a tampered chat response, signed by the node as if real, is caught by re-execution: invalid", async () => {
    const real = await chatInference();
    if (real.response.kind !== "chat") throw new Error("chat expected");
    const forged = {
      ...real,
      response: { ...real.response, content: `${real.response.content} Buy now.` },
    };
    const verdict = await judge(await taskFor(forged));
    expect(verdict.outcome).toBe("invalid");
    expect(check(verdict, "receipt-integrity@1")?.status).toBe("pass");
    expect(check(verdict, "re-execution@1")).toMatchObject({
      status: "fail",
      reason: "response_hash_mismatch",
    });
  });

  it("tampered embeddings, signed by the node as if real, are caught by re-execution: invalid", async () => {
    const real = await embeddingInference();
    if (real.response.kind !== "embedding") throw new Error("embedding expected");
    const [first = [], ...rest] = real.response.embeddings;
    const skewed = first.map((x, i) => (i < 40 ? -x : x));
    const forged = {
      ...real,
      response: { kind: "embedding" as const, embeddings: [skewed, ...rest] },
    };
    const verdict = await judge(await taskFor(forged));
    expect(verdict.outcome).toBe("invalid");
    expect(check(verdict, "re-execution@1")).toMatchObject({
      status: "fail",
      reason: "embedding_below_threshold",
    });
  });

  it("an edited request fails receipt integrity: invalid, and the edited request is not re-executed", async () => {
    const inference = await chatInference();
    const receipt = await signInference(inference);
    const edited = { ...inference, request: { ...inference.request, seed: 43 } };
    const verdict = await judge(await taskFor(edited, { receipt }));
    expect(verdict.outcome).toBe("invalid");
    expect(check(verdict, "receipt-integrity@1")).toMatchObject({
      status: "fail",
      reason: "request_hash_mismatch",
    });
    expect(check(verdict, "re-execution@1")).toMatchObject({
      status: "skip",
      reason: "integrity_failed",
    });
  });

  it("a receipt from an unauthorised inference node is invalid (untrusted_node)", async () => {
    const inference = await chatInference();
    const receipt = await signInference(inference, { node: strangerAccount });
    const verdict = await judge(await taskFor(inference, { receipt }));
    expect(verdict.outcome).toBe("invalid");
    expect(check(verdict, "receipt-integrity@1")).toMatchObject({
      status: "fail",
      reason: "untrusted_node",
    });
  });

  it("a deterministic model the verifier can't run makes it abstain, never guess", async () => {
    // Without the reference backend this verifier does not know verity-ngram-1 at all.
    const verdict = await judge(await taskFor(await chatInference()), { BACKENDS: "workers-ai" });
    expect(verdict.outcome).toBe("abstain");
    expect(check(verdict, "re-execution@1")).toMatchObject({
      status: "skip",
      reason: "model_unknown",
    });
    expect(await verifyVerdict(verdict)).toMatchObject({ ok: true });
  });

  it("a non-deterministic model is not re-executed (skip), and integrity and rules decide: valid", async () => {
    const inference = {
      request: {
        kind: "chat" as const,
        model: "llama3.2:3b",
        messages: [{ role: "user" as const, content: "Hi" }],
        temperature: 1,
        top_p: 1,
        max_tokens: 8,
        seed: 1,
        stop: [],
      },
      response: { kind: "chat" as const, content: "Hello there!", finish_reason: "stop" as const },
      usage: { prompt_tokens: 3, completion_tokens: 4 },
      backend: "openai-compatible",
    };
    const verdict = await judge(await taskFor(inference), {
      BACKENDS: "reference,openai-compatible",
      OPENAI_COMPAT_URL: "http://upstream.invalid/v1",
      OPENAI_COMPAT_MODELS: "llama3.2:3b",
    });
    expect(check(verdict, "re-execution@1")).toMatchObject({
      status: "skip",
      reason: "not_deterministic",
    });
    expect(verdict.outcome).toBe("valid");
  });

  describe("rules", () => {
    it("more completion tokens than max_tokens is invalid (max_tokens_exceeded)", async () => {
      const inference = await chatInference({ max_tokens: 8 });
      const inflated = { ...inference, usage: { ...inference.usage, completion_tokens: 9 } };
      const verdict = await judge(await taskFor(inflated));
      expect(verdict.outcome).toBe("invalid");
      expect(check(verdict, "rules@1")).toMatchObject({
        status: "fail",
        reason: "max_tokens_exceeded",
      });
      // The answer itself is the model's: only the usage claim is wrong.
      expect(check(verdict, "re-execution@1")?.status).toBe("pass");
    });

    it("an answer that runs past a stop sequence is invalid (stop_sequence_in_content)", async () => {
      const real = await chatInference();
      if (real.response.kind !== "chat" || real.request.kind !== "chat")
        throw new Error("chat expected");
      const word = real.response.content.split(" ")[1] ?? "";
      expect(word.length).toBeGreaterThan(0);
      const stopped = { ...real, request: { ...real.request, stop: [word] } };
      const verdict = await judge(await taskFor(stopped));
      expect(verdict.outcome).toBe("invalid");
      expect(check(verdict, "rules@1")).toMatchObject({
        status: "fail",
        reason: "stop_sequence_in_content",
      });
    });

    it("an answer matching a deny-list pattern is invalid (denied_content), though the model did say it", async () => {
      const real = await chatInference();
      if (real.response.kind !== "chat") throw new Error("chat expected");
      const word = (real.response.content.split(" ")[0] ?? "").replace(
        /[\\^$.*+?()[\]{}|]/g,
        "\\$&",
      );
      expect(word.length).toBeGreaterThan(0);
      // Upper-cased, to show patterns match case-insensitively.
      const verdict = await judge(await taskFor(real), {
        DENY_PATTERNS: JSON.stringify([`^${word.toUpperCase()}`]),
      });
      expect(verdict.outcome).toBe("invalid");
      expect(check(verdict, "rules@1")).toMatchObject({ status: "fail", reason: "denied_content" });
      expect(check(verdict, "re-execution@1")?.status).toBe("pass");
    });

    it("an answer longer than MAX_RESPONSE_CHARS is invalid (response_too_long)", async () => {
      const verdict = await judge(await taskFor(await chatInference()), {
        MAX_RESPONSE_CHARS: "5",
      });
      expect(verdict.outcome).toBe("invalid");
      expect(check(verdict, "rules@1")).toMatchObject({
        status: "fail",
        reason: "response_too_long",
      });
    });

    it("fewer vectors than inputs is invalid (embedding_count_mismatch)", async () => {
      const real = await embeddingInference();
      if (real.response.kind !== "embedding") throw new Error("embedding expected");
      const short = {
        ...real,
        response: { ...real.response, embeddings: real.response.embeddings.slice(1) },
      };
      const verdict = await judge(await taskFor(short));
      expect(verdict.outcome).toBe("invalid");
      expect(check(verdict, "rules@1")).toMatchObject({
        status: "fail",
        reason: "embedding_count_mismatch",
      });
    });

    it("policy changes show in the verdict's policyHash", async () => {
      const signed = await taskFor(await chatInference());
      const a = await judge(signed);
      const b = await judge(signed, { MAX_RESPONSE_CHARS: "100000" });
      expect(a.policyHash).not.toBe(b.policyHash);
    });
  });

  describe("refusals are 4xx in OpenAI's error shape, and counted", () => {
    const refused = async (
      app: ReturnType<typeof createVerifierApp>,
      body: unknown,
      init: RequestInit = {},
    ) => {
      const res = await postTask(app, body, {}, init);
      expect(res.status).toBeGreaterThanOrEqual(400);
      expect(res.status).toBeLessThan(500);
      const error = ((await res.json()) as ErrorBody).error;
      expect(Object.keys(error).sort()).toEqual(["code", "message", "param", "type"]);
      return { status: res.status, error };
    };

    it("an unsigned task is 401 unsigned_task", async () => {
      const app = createVerifierApp();
      const { task } = await taskFor(await chatInference());
      expect(await refused(app, { task })).toMatchObject({
        status: 401,
        error: { code: "unsigned_task", type: "authentication_error", param: "signature" },
      });
    });

    describe("the envelope, checked before the body is read", () => {
      const envelopeOf = (
        body: string,
        options: { by?: typeof strangerAccount; verifier?: `0x${string}`; issuedAt?: number } = {},
      ) =>
        signTaskEnvelope(
          body,
          options.verifier ?? verifierAddress,
          options.issuedAt ?? Date.now(),
          options.by ?? coordinatorAccount,
        );
      // Not JSON at all: a verifier that parsed before checking would answer 400 malformed.
      const garbage = `{${"x".repeat(1024 * 1024)}`;

      it("none at all is 401 unsigned_task, and the body is never parsed", async () => {
        const res = await postTask(createVerifierApp(), garbage, {}, {}, null);
        expect(res.status).toBe(401);
        expect(await res.json()).toMatchObject({ error: { code: "unsigned_task" } });
      });

      it("one by another key is 403 wrong_coordinator, one not a signature 401 bad_signature", async () => {
        const stranger = await envelopeOf(garbage, { by: strangerAccount });
        const forged = await postTask(createVerifierApp(), garbage, {}, {}, stranger);
        expect(forged.status).toBe(403);
        expect(await forged.json()).toMatchObject({ error: { code: "wrong_coordinator" } });
        const v0 = JSON.parse(await envelopeOf(garbage)) as { signature: string };
        v0.signature = `${v0.signature.slice(0, 130)}00`;
        const bad = await postTask(createVerifierApp(), garbage, {}, {}, JSON.stringify(v0));
        expect(bad.status).toBe(401);
        expect(await bad.json()).toMatchObject({ error: { code: "bad_signature" } });
      });

      it("one for another verifier is 403 wrong_verifier, an old one 409 stale", async () => {
        const other = await envelopeOf(garbage, { verifier: strangerAccount.address });
        const elsewhere = await postTask(createVerifierApp(), garbage, {}, {}, other);
        expect(elsewhere.status).toBe(403);
        expect(await elsewhere.json()).toMatchObject({ error: { code: "wrong_verifier" } });
        const old = await envelopeOf(garbage, { issuedAt: Date.now() - 10 * 60 * 1000 });
        const stale = await postTask(createVerifierApp(), garbage, {}, {}, old);
        expect(stale.status).toBe(409);
        expect(await stale.json()).toMatchObject({ error: { code: "stale" } });
      });

      it("an IP refused too often this minute is answered 429 before any signature is checked; other IPs are not", async () => {
        // One frozen instant: the counter's minute cannot roll over halfway through.
        vi.useFakeTimers({ toFake: ["Date"] });
        vi.setSystemTime(Date.now());
        onTestFinished(() => {
          vi.useRealTimers();
        });
        const app = createVerifierApp({ maxRefusalsPerIp: 3 });
        const from = (ip: string) => ({
          headers: { "content-type": "application/json", "cf-connecting-ip": ip },
        });
        for (let i = 0; i < 3; i++) {
          expect((await postTask(app, garbage, {}, from("203.0.113.9"), null)).status).toBe(401);
        }
        const limited = await postTask(app, garbage, {}, from("203.0.113.9"), null);
        expect(limited.status).toBe(429);
        expect(Number(limited.headers.get("retry-after"))).toBeGreaterThan(0);
        expect(await limited.json()).toMatchObject({ error: { code: "rate_limit_exceeded" } });
        const cosign = await app.request(
          "/v1/batches/sign",
          { method: "POST", body: "{}", ...from("203.0.113.9") },
          verifierEnv,
        );
        expect(cosign.status).toBe(429);
        // The coordinator signs every task: its own IP is never counted.
        const task = await taskFor(await chatInference());
        expect((await postTask(app, task, {}, from("198.51.100.7"))).status).toBe(200);
      });

      it("a body other than the one it signed is 400 payload_mismatch, before it is parsed", async () => {
        const signed = JSON.stringify(await taskFor(await chatInference()));
        const res = await postTask(createVerifierApp(), garbage, {}, {}, await envelopeOf(signed));
        expect(res.status).toBe(400);
        expect(await res.json()).toMatchObject({ error: { code: "payload_mismatch" } });
      });
    });

    it("a task signed by another key is 403 wrong_coordinator", async () => {
      const app = createVerifierApp();
      const signed = await taskFor(await chatInference(), { coordinator: strangerAccount });
      expect(await refused(app, signed)).toMatchObject({
        status: 403,
        error: { code: "wrong_coordinator", type: "permission_error" },
      });
    });

    it("a task altered after signing is 403 wrong_coordinator: its signature no longer recovers to the coordinator", async () => {
      const app = createVerifierApp();
      const signed = await taskFor(await chatInference());
      const altered = {
        ...signed,
        task: { ...signed.task, usage: { prompt_tokens: 1, completion_tokens: 1 } },
      };
      expect(await refused(app, altered)).toMatchObject({
        status: 403,
        error: { code: "wrong_coordinator" },
      });
    });

    it("a task for another verifier is 403 wrong_verifier", async () => {
      const app = createVerifierApp();
      const signed = await taskFor(await chatInference(), {
        changes: { verifier: strangerAccount.address },
      });
      expect(await refused(app, signed)).toMatchObject({
        status: 403,
        error: { code: "wrong_verifier" },
      });
    });

    it("a stale task is 409 stale", async () => {
      const app = createVerifierApp();
      const maxAge = Number(verifierEnv.TASK_MAX_AGE_MS);
      const signed = await taskFor(await chatInference(), {
        changes: { issuedAt: Date.now() - maxAge - 1 },
      });
      expect(await refused(app, signed)).toMatchObject({ status: 409, error: { code: "stale" } });
    });

    it("a non-canonical signature is 401 bad_signature", async () => {
      const app = createVerifierApp();
      const signed = await taskFor(await chatInference());
      expect(
        await refused(app, { ...signed, signature: `${signed.signature.slice(0, 130)}00` }),
      ).toMatchObject({
        status: 401,
        error: { code: "bad_signature" },
      });
    });

    it("bad JSON, a malformed task and a non-JSON body are 400 malformed / 415", async () => {
      const app = createVerifierApp();
      expect(await refused(app, "{not json")).toMatchObject({
        status: 400,
        error: { code: "malformed" },
      });
      const signed = await taskFor(await chatInference());
      const bad = { ...signed, task: { ...signed.task, issuedAt: "now" } };
      expect(await refused(app, bad)).toMatchObject({
        status: 400,
        error: { code: "malformed", param: "task.issuedAt" },
      });
      expect(await refused(app, "x", { headers: { "content-type": "text/plain" } })).toMatchObject({
        status: 415,
        error: { code: "unsupported_media_type" },
      });
    });

    it("counts every refusal by reason, and every verdict by outcome, in /v1/health", async () => {
      const app = createVerifierApp();
      const inference = await chatInference();
      const { task } = await taskFor(inference);
      await postTask(app, { task });
      await postTask(app, await taskFor(inference, { coordinator: strangerAccount }));
      await postTask(app, await taskFor(inference, { coordinator: strangerAccount }));
      await postTask(
        app,
        await taskFor(inference, { changes: { verifier: strangerAccount.address } }),
      );
      await postTask(app, "nope");
      expect((await postTask(app, await taskFor(inference))).status).toBe(200);
      const health = (await (await app.request("/v1/health", {}, verifierEnv)).json()) as {
        refused: Record<string, number>;
        verdicts: Record<string, number>;
      };
      expect(health.refused).toMatchObject({
        unsigned_task: 1,
        wrong_coordinator: 2,
        wrong_verifier: 1,
        malformed: 1,
        stale: 0,
        bad_signature: 0,
      });
      expect(health.verdicts).toEqual({ valid: 1, invalid: 0, abstain: 0 });
    });
  });
});

describe("re-execution of what apps ask for", () => {
  const weather = {
    type: "function" as const,
    function: {
      name: "get_weather",
      description: "Get the current weather for a city",
      parameters: {
        type: "object",
        properties: { city: { type: "string" }, days: { type: "integer", minimum: 1, maximum: 7 } },
        required: ["city", "days"],
        additionalProperties: false,
      },
    },
  };
  const toolCall = () =>
    chatInference({
      messages: [{ role: "user", content: "What is the weather in Paris?" }],
      tools: [weather],
      tool_choice: "required",
    });

  it("a tool call, a JSON answer, n choices and logprobs are each valid by exact re-execution", async () => {
    const asked = [
      await toolCall(),
      await chatInference({ response_format: { type: "json_object" }, max_tokens: 64 }),
      await chatInference({ n: 2, logprobs: true, top_logprobs: 2, frequency_penalty: 1 }),
    ];
    const first = asked[0]?.response;
    expect(first?.kind === "chat" && first.tool_calls?.[0]?.function.name).toBe("get_weather");
    for (const inference of asked) {
      const verdict = await judge(await taskFor(inference));
      expect(verdict.outcome).toBe("valid");
      expect(check(verdict, "re-execution@1")).toMatchObject({
        status: "pass",
        reason: "response_hash_matched",
      });
    }
  });

  it("tool call arguments the model did not produce are caught: invalid", async () => {
    const real = await toolCall();
    if (real.response.kind !== "chat" || !real.response.tool_calls)
      throw new Error("call expected");
    const [call] = real.response.tool_calls;
    if (!call) throw new Error("call expected");
    const forged = {
      ...real,
      response: {
        ...real.response,
        tool_calls: [
          { ...call, function: { ...call.function, arguments: '{"city":"Atlantis","days":7}' } },
        ],
      },
    };
    const verdict = await judge(await taskFor(forged));
    expect(verdict.outcome).toBe("invalid");
    expect(check(verdict, "re-execution@1")).toMatchObject({ reason: "response_hash_mismatch" });
  });

  it("a tool call where the request chose none breaks the rules: invalid without re-running", async () => {
    const real = await toolCall();
    const forged = {
      ...real,
      request: { ...real.request, tool_choice: "none" as const },
    };
    const verdict = await judge(await taskFor(forged));
    expect(verdict.outcome).toBe("invalid");
    expect(check(verdict, "rules@1")).toMatchObject({
      status: "fail",
      reason: "tool_call_not_allowed",
    });
  });
});
