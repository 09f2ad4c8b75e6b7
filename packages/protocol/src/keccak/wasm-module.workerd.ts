import module from "./keccak.wasm";
import type { WasmModule } from "./webassembly";

/** The Keccak module as workerd loads it: bundled and compiled with the worker. */
export function keccakWasmModule(): WasmModule {
  return module;
}
