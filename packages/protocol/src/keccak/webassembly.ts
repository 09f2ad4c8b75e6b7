/**
 * The part of the WebAssembly JavaScript API that the keccak module uses, typed here: the
 * protocol runs in workerd, Node and browsers, and each one's type library declares it
 * differently, or not at all (Node's).
 */
export interface WasmModule {
  readonly __brand?: "WebAssembly.Module";
}

interface WebAssemblyApi {
  Module: new (bytes: Uint8Array) => WasmModule;
  Instance: new (
    module: WasmModule,
    imports: Record<string, never>,
  ) => { exports: Record<string, unknown> };
}

export const webAssembly = (globalThis as unknown as { WebAssembly: WebAssemblyApi }).WebAssembly;
