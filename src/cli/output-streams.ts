/**
 * The rule for output that cannot be written (a reader that went away: `| head -3`, a log shipper that died, a closed
 * terminal): it is dropped, the command goes on to its end, and the exit code is the data's outcome. Without this an
 * EPIPE on stdout or stderr is an unhandled 'error' event: a stack trace, and exit 1 for a run that may have committed.
 */
const broken = new WeakSet<NodeJS.WritableStream>();

/** Installs the rule on the process's stdout and stderr (the real CLI, once, before any output). */
export function guardOutputStreams(): void {
  watch(process.stdout, 'stdout');
  watch(process.stderr, 'stderr');
}

function watch(stream: NodeJS.WriteStream, name: 'stdout' | 'stderr'): void {
  stream.on('error', () => {
    if (broken.has(stream)) return;
    broken.add(stream);
    // Said once, on the other stream if it still works; the exit code still tells the outcome.
    const other = name === 'stdout' ? process.stderr : process.stdout;
    if (!broken.has(other)) other.write(`Note: ${name} was closed by its reader; its remaining output is dropped and the command goes on\n`);
  });
}

/** Writes unless the stream's reader has gone away. */
export function writeIfOpen(stream: NodeJS.WritableStream, text: string): void {
  if (broken.has(stream) || (stream as { destroyed?: boolean }).destroyed) return;
  stream.write(text);
}
