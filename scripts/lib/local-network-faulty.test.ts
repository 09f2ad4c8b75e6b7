// A whole local network with a faulty verifier, in a file of its own so that it starts while
// local-network.test.ts runs its own networks.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { newInferenceId } from "@verity/protocol/inference-id";
import { signReceipt } from "@verity/protocol/receipt";
import { privateKeyToAccount } from "viem/accounts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  api,
  chat,
  decided,
  InferenceRecord,
  ports,
  quiet,
  readyTimeoutMs,
  VerifierList,
} from "../../test/node/local-network-client.ts";
import { executeD1, sqlInteger, sqlString } from "./d1.ts";
import { loadOrCreateDevSecrets } from "./dev-secrets.ts";
import { type LocalNetwork, startLocalNetwork } from "./local-network.ts";
import { wranglerPersistDir } from "./state-dir.ts";
import { triggerScheduled } from "./trigger-scheduled.ts";

// A cron interval no test outlives: the cron then runs only when a test triggers it.
const ON_DEMAND_ONLY_MS = 3_600_000;

// Its cron runs when a test says so (as the cron driver would), never on a timer: a test that
// checks a record before the cron has seen it cannot race a tick.
describe("a network whose last verifier signs every verdict invalid, with its cron run on demand", () => {
  let stateDir: string;
  let network: LocalNetwork;
  beforeAll(async () => {
    stateDir = await mkdtemp(path.join(tmpdir(), "verity-network-"));
    network = await startLocalNetwork({
      stateDir,
      port: await ports(3),
      faulty: "always-invalid",
      cronIntervalMs: ON_DEMAND_ONLY_MS,
      log: quiet,
      readyTimeoutMs,
    });
  });
  afterAll(async () => {
    await network?.stop();
    await rm(stateDir, { recursive: true, force: true });
  });

  it("runs the faulty verifier last, and rounds still verify by the quorum of the others", async () => {
    const { info } = network;
    const faulty = info.verifiers.at(-1);
    expect(info.verifiers.map((v) => v.faultMode)).toEqual([null, null, "always-invalid"]);
    expect(await (await fetch(`${faulty?.url}/v1/health`)).json()).toMatchObject({
      faultMode: "always-invalid",
    });

    const record = await decided(info, await chat(info));
    expect(record.status).toBe("verified");
    // The committee is all three: two valid verdicts and the faulty one's dissent.
    const outcomes = Object.fromEntries(
      record.verification.verdicts.map((v) => [v.verifier, v.outcome]),
    );
    for (const v of info.verifiers) {
      if (outcomes[v.address] !== undefined)
        expect(outcomes[v.address]).toBe(v.faultMode ? "invalid" : "valid");
    }
    expect(Object.values(outcomes).filter((o) => o === "valid").length).toBeGreaterThanOrEqual(2);

    // A late dissent is recorded too: wait for all three, then the faulty one agrees less.
    const deadline = Date.now() + 10_000;
    let listed = VerifierList.parse(await (await api(info, "/v1/verifiers")).json());
    while (listed.data.find((v) => v.address === faulty?.address)?.votes === 0) {
      if (Date.now() > deadline) throw new Error("the faulty verifier never voted");
      await sleep(200);
      listed = VerifierList.parse(await (await api(info, "/v1/verifiers")).json());
    }
    const stats = listed.data.find((v) => v.address === faulty?.address);
    expect(stats?.agreements).toBeLessThan(stats?.votes ?? 0);
  });

  it("runs the gateway's cron, which starts the round of a record that a crash left without one", async () => {
    const { info } = network;
    const original = InferenceRecord.parse(
      await (await api(info, `/v1/inferences/${await chat(info)}`)).json(),
    );
    // A stored record as a gateway that crashed before starting its round leaves it: pending,
    // a minute old, its receipt genuinely signed by the node, and no round.
    const { secrets } = await loadOrCreateDevSecrets(stateDir);
    const id = newInferenceId();
    const createdAt = Date.now() - 60_000;
    const { signature: _, ...unsigned } = original.receipt;
    const receipt = await signReceipt(
      { ...unsigned, inferenceId: id, createdAt },
      privateKeyToAccount(secrets.inferenceNodeKey),
    );
    const inserted = Date.now();
    await executeD1(
      { kind: "local", persistTo: wranglerPersistDir(stateDir) },
      `INSERT INTO inferences (id, api_key_id, kind, model, backend, request, response, usage, receipt,
         request_hash, response_hash, stream, user, status, created_at, updated_at)
       SELECT ${sqlString(id)}, api_key_id, kind, model, backend, request, response, usage,
         ${sqlString(JSON.stringify(receipt))}, request_hash, response_hash, stream, user, 'pending',
         ${sqlInteger(createdAt)}, ${sqlInteger(createdAt)}
       FROM inferences WHERE id = ${sqlString(original.receipt.inferenceId)}`,
    );
    const before = InferenceRecord.parse(await (await api(info, `/v1/inferences/${id}`)).json());
    expect(before.verification.status).toBe("pending");

    // What the cron driver does on each tick; it answers once the handler's work is done.
    await triggerScheduled(info.gatewayUrl);
    const record = await decided(info, id, 15_000);
    expect(record.status).toBe("verified");
    expect(record.verification.committee).toHaveLength(3);
    expect(record.verification.startedAt).toBeGreaterThanOrEqual(inserted);
  });
});
