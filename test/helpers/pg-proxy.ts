import { AddressInfo, createServer, Server, Socket } from 'node:net';

/**
 * A TCP proxy in front of PostgreSQL that can lose a COMMIT on the way, the way a network can: `drop-commit` closes
 * the connection before the COMMIT reaches the server (nothing committed); `lose-answer` forwards it and closes the
 * client's side before the server's answer arrives (committed, but the client cannot know). After the loss,
 * `refuseAfterLoss` makes every new connection fail and closes the other open ones (an idle connection in the
 * client's pool, say), as an unreachable database would.
 */
export type CommitLoss = 'drop-commit' | 'lose-answer';

export interface PgProxy {
  /** A postgres:// URL like `target`, through the proxy. */
  url: string;
  /** Whether a COMMIT was lost. */
  readonly lost: boolean;
  close(): Promise<void>;
}

const COMMIT = Buffer.from('COMMIT\0');

/** Whether `chunk` holds a simple-protocol Query message ('Q', length, text) whose text is COMMIT. */
function holdsCommit(chunk: Buffer): boolean {
  for (let at = chunk.indexOf(COMMIT); at !== -1; at = chunk.indexOf(COMMIT, at + 1)) {
    if (at >= 5 && chunk[at - 5] === 0x51 && chunk.readInt32BE(at - 4) === 4 + COMMIT.length) return true;
  }
  return false;
}

export async function startPgProxy(target: string, loss: CommitLoss, options: { refuseAfterLoss?: boolean } = {}): Promise<PgProxy> {
  const upstream = new URL(target);
  let lost = false;
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    sockets.add(client);
    client.on('close', () => sockets.delete(client));
    if (lost && options.refuseAfterLoss) return void client.destroy();
    const server = new Socket();
    sockets.add(server);
    server.on('close', () => sockets.delete(server));
    server.connect(Number(upstream.port || 5432), upstream.hostname);
    let answerLost = false;
    client.on('data', (chunk: Buffer) => {
      if (!lost && holdsCommit(chunk)) {
        lost = true;
        if (options.refuseAfterLoss) for (const socket of sockets) if (socket !== client && socket !== server) socket.destroy();
        if (loss === 'drop-commit') {
          client.destroy();
          server.destroy();
          return;
        }
        answerLost = true;
      }
      server.write(chunk);
    });
    server.on('data', (chunk: Buffer) => {
      if (answerLost) {
        // The server has answered the COMMIT (it committed); the client never hears of it.
        client.destroy();
        server.end();
        return;
      }
      client.write(chunk);
    });
    client.on('error', () => server.destroy());
    server.on('error', () => client.destroy());
    client.on('end', () => server.end());
    server.on('end', () => client.end());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = new URL(target);
  url.hostname = '127.0.0.1';
  url.port = String((server.address() as AddressInfo).port);
  return {
    url: url.toString(),
    get lost() {
      return lost;
    },
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
