/** The value after `--name` in a bench's arguments, or undefined when the flag is absent. */
export function arg(args: readonly string[], name: string): string | undefined {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
}
