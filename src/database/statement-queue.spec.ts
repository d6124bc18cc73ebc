import { StatementQueue } from './statement-queue';

/** A statement that resolves (or rejects) only when told to, recording when it was sent. */
function deferred(sent: string[], name: string) {
  let settle!: { resolve: (value: string) => void; reject: (error: Error) => void };
  const promise = new Promise<string>((resolve, reject) => (settle = { resolve, reject }));
  return {
    statement: () => {
      sent.push(name);
      return promise;
    },
    ...settle,
  };
}

const tick = () => new Promise((resolve) => setImmediate(resolve));

describe('StatementQueue', () => {
  it('sends a statement only after the one before it has finished, in the order given', async () => {
    const queue = new StatementQueue();
    const sent: string[] = [];
    const first = deferred(sent, 'first');
    const second = deferred(sent, 'second');
    const results = [queue.run(first.statement), queue.run(second.statement)];
    await tick();
    expect(sent).toEqual(['first']);
    first.resolve('a');
    await tick();
    expect(sent).toEqual(['first', 'second']);
    second.resolve('b');
    await expect(Promise.all(results)).resolves.toEqual(['a', 'b']);
  });

  it('after a failure, later statements are never sent and get the first error', async () => {
    const queue = new StatementQueue();
    const sent: string[] = [];
    const failing = deferred(sent, 'failing');
    const later = deferred(sent, 'later');
    const results = [queue.run(failing.statement), queue.run(later.statement)];
    failing.reject(new Error('deadlock detected'));
    await expect(results[0]).rejects.toThrow('deadlock detected');
    await expect(results[1]).rejects.toThrow('deadlock detected');
    await expect(queue.run(async () => 'never')).rejects.toThrow('deadlock detected');
    expect(sent).toEqual(['failing']);
  });

  it('drain() waits for every statement given, and does not reject when one failed', async () => {
    const queue = new StatementQueue();
    const sent: string[] = [];
    const slow = deferred(sent, 'slow');
    queue.run(slow.statement).catch(() => undefined);
    let drained = false;
    const draining = queue.drain().then(() => (drained = true));
    await tick();
    expect(drained).toBe(false);
    slow.reject(new Error('boom'));
    await draining;
    expect(drained).toBe(true);
  });
});
