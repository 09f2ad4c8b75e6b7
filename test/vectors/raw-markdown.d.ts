// Vite's `?raw` suffix imports a file as a string; the vector tests read docs/protocol.md this way.
declare module "*.md?raw" {
  const text: string;
  export default text;
}

declare module "*.toml?raw" {
  const text: string;
  export default text;
}
