#!/usr/bin/env node
// `npx verity`: the CLI is TypeScript (scripts/verity.ts), and the protocol sources it imports
// have extensionless imports, so it runs under tsx's loader, as the other scripts do.
import { register } from "tsx/esm/api";

register();
await import(new URL("../../../scripts/verity.ts", import.meta.url).href);
