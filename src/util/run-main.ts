/** Run a program's main(): a startup failure prints one clear line and exits 1. */
export function runMain(main: () => Promise<void>): void {
  main().catch((err: unknown) => {
    const message = err instanceof Error ? err.message : String(err);
    process.stderr.write(`error: ${message}\n`);
    process.exit(1);
  });
}
