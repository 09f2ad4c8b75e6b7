const KEY_PREFIX = "vty_";
const ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/** A new secret API key: `vty_` and 32 base62 characters (~190 bits). Shown once, never stored. */
export function generateApiKey(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(32));
  let body = "";
  for (const byte of bytes) body += ALPHABET[byte % ALPHABET.length];
  return KEY_PREFIX + body;
}

/** The stored form of a key: lowercase hex SHA-256 of its UTF-8 bytes. */
export async function hashApiKey(key: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(key));
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/** The part of a key that is safe to show in listings. */
/** Whether `key` has the form `generateApiKey` gives: anything else cannot be a key of ours. */
export const isApiKeyShaped = (key: string) => /^vty_[0-9A-Za-z]{32}$/.test(key);

export const apiKeyPrefix = (key: string) => key.slice(0, KEY_PREFIX.length + 6);

/** A new key id; ids are public (they appear in listings and logs), keys are not. */
export const newApiKeyId = () => `key_${crypto.randomUUID().replaceAll("-", "").slice(0, 20)}`;
