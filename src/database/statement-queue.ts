/**
 * Statements run one after the other on one connection, though a caller may send the next before the last ends (a
 * page read ahead while the previous page is written). node-postgres would queue them itself, but that is deprecated
 * (pg 9 refuses a query on a busy client).
 *
 * After a failed statement the transaction is aborted: later statements would only fail with "current transaction is
 * aborted", hiding the cause. They get the first failure instead, and are never sent.
 */
export class StatementQueue {
  private tail: Promise<unknown> = Promise.resolve();
  private failure?: { error: unknown };

  /** Runs `statement` after every statement given before it has finished. */
  run<T>(statement: () => Promise<T>): Promise<T> {
    const next = () => (this.failure ? Promise.reject(this.failure.error) : statement());
    const result = this.tail.then(next, next);
    this.tail = result.catch((error) => {
      this.failure ??= { error };
    });
    return result;
  }

  /** Resolves when every statement given so far has finished (successfully or not). */
  async drain(): Promise<void> {
    await this.tail;
  }
}
