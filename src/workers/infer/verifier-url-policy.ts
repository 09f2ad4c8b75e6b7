import { z } from "zod";

/**
 * Which URLs a verifier may announce in its heartbeat, for the coordinator to send tasks to:
 * - `public-https` (production): https only, and no loopback, private, link-local or
 *   otherwise internal address, so a registered key cannot aim the coordinator at the
 *   network it runs in;
 * - `local`: any http(s) URL, for the local network on 127.0.0.1.
 * A DNS name is judged by its text alone (Workers have no resolver to ask), so an internal
 * name must look internal (`localhost`, `*.local`, `*.internal`) to be refused.
 */
export const VerifierUrlPolicy = z.enum(["public-https", "local"]).default("public-https");
export type VerifierUrlPolicy = z.infer<typeof VerifierUrlPolicy>;

export type UrlCheck = { ok: true } | { ok: false; message: string };

const IPV4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;

function internalIpv4(host: string): boolean {
  const m = IPV4.exec(host);
  if (!m) return false;
  const [a, b] = [Number(m[1]), Number(m[2])];
  return (
    a === 0 ||
    a === 10 ||
    a === 127 ||
    (a === 100 && b >= 64 && b <= 127) ||
    (a === 169 && b === 254) ||
    (a === 172 && b >= 16 && b <= 31) ||
    (a === 192 && b === 168) ||
    a >= 224
  );
}

function internalIpv6(host: string): boolean {
  if (!host.startsWith("[")) return false;
  const ip = host.slice(1, -1).toLowerCase();
  if (ip === "::" || ip === "::1") return true;
  if (/^f[cd]/.test(ip) || /^fe[89ab]/.test(ip)) return true;
  // An IPv4 address written as IPv6 is judged as IPv4 (URL keeps it as ::ffff:a.b.c.d or hex).
  const mapped = /^::ffff:(.+)$/.exec(ip)?.[1];
  if (mapped === undefined) return false;
  if (IPV4.test(mapped)) return internalIpv4(mapped);
  const [hi = "0", lo = "0"] = mapped.split(":");
  const n = (Number.parseInt(hi, 16) << 16) | Number.parseInt(lo, 16);
  return internalIpv4([n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join("."));
}

const internalName = (host: string) =>
  host === "localhost" || /\.(localhost|local|internal|home\.arpa)$/.test(host);

/** Whether `url` may be announced under `policy`; the message says why not. */
export function checkVerifierUrl(url: string, policy: VerifierUrlPolicy): UrlCheck {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return { ok: false, message: `'${url}' is not a URL.` };
  }
  if (parsed.protocol !== "https:" && parsed.protocol !== "http:") {
    return { ok: false, message: "Verifier URLs must be http(s)." };
  }
  if (policy === "local") return { ok: true };
  if (parsed.protocol !== "https:") {
    return { ok: false, message: "Verifier URLs must be https." };
  }
  const host = parsed.hostname.toLowerCase();
  if (internalIpv4(host) || internalIpv6(host) || internalName(host)) {
    return {
      ok: false,
      message: `Verifier URLs must be public; ${host} is a loopback, private or internal address.`,
    };
  }
  return { ok: true };
}
