import { type ParseArgsConfig, parseArgs } from "node:util";
import { z } from "zod";
import { VerityError } from "../../src/errors.ts";

/** A TCP port number given on the command line. */
export const Port = z.coerce.number().int().min(1).max(65_535);

/** Parses `argv` with node's parseArgs; unknown flags and missing values are usage errors. */
export function parseCli<T extends ParseArgsConfig["options"]>(
  argv: string[],
  options: T,
  allowPositionals = false,
) {
  try {
    return parseArgs({ args: argv, options, allowPositionals, strict: true });
  } catch (err) {
    throw usageError((err as Error).message);
  }
}

/** A usage error: the script prints it with its usage and exits 2. */
export const usageError = (message: string, param: string | null = null) =>
  new VerityError(message, {
    status: 400,
    type: "invalid_request_error",
    code: "invalid_arguments",
    param,
  });

/** Validates a parsed value with `schema`; failures name the flag. */
export function cliValue<S extends z.ZodType>(flag: string, schema: S, value: unknown): z.infer<S> {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  throw usageError(`${flag}: ${parsed.error.issues[0]?.message ?? "invalid value"}`, flag);
}

/**
 * Runs a script's main function: a `VerityError` prints its message (and `usageHint`, for a
 * usage error) and exits 1 (2 for usage); anything else is a bug and prints its stack.
 */
export function runMain(main: () => Promise<number | undefined>, usageHint?: string): void {
  main().then(
    (code) => process.exit(code ?? 0),
    (err: unknown) => {
      if (err instanceof VerityError) {
        console.error(`error: ${err.message}`);
        if (err.code === "invalid_arguments" && usageHint) console.error(usageHint);
        process.exit(err.status === 400 ? 2 : 1);
      }
      console.error(err);
      process.exit(1);
    },
  );
}
