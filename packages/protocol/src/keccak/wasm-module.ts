import { KECCAK_WASM_BASE64 } from "./keccak-wasm.generated";
import { type WasmModule, webAssembly } from "./webassembly";

/**
 * The Keccak module, compiled from its bytes: Node and browsers allow that, and at 4 KB it is
 * small enough for a browser's main thread to compile synchronously. workerd refuses it and
 * imports `wasm-module.workerd.ts` instead (the `workerd` condition of `#keccak-wasm-module`).
 */
export function keccakWasmModule(): WasmModule {
  return new webAssembly.Module(Uint8Array.from(atob(KECCAK_WASM_BASE64), (c) => c.charCodeAt(0)));
}
