import { InterruptedError, Interruption } from './interruption';

describe('Interruption', () => {
  it('tells listeners once, with the first signal', () => {
    const interruption = new Interruption();
    const heard: string[] = [];
    interruption.subscribe((signal) => heard.push(signal));
    expect(interruption.raise('SIGTERM')).toBe(true);
    expect(interruption.raise('SIGINT')).toBe(true);
    expect(heard).toEqual(['SIGTERM']);
    expect(interruption.signal).toBe('SIGTERM');
  });

  it('reports a raise nobody hears', () => {
    expect(new Interruption().raise('SIGINT')).toBe(false);
  });

  it('calls a late subscriber at once, and unsubscribes', () => {
    const interruption = new Interruption();
    interruption.raise('SIGINT');
    const heard: string[] = [];
    const unsubscribe = interruption.subscribe((signal) => heard.push(signal));
    expect(heard).toEqual(['SIGINT']);
    unsubscribe();
    expect(interruption.raise('SIGINT')).toBe(false);
  });

  it('throwIfRaised throws the exit code of the signal', () => {
    const interruption = new Interruption();
    expect(() => interruption.throwIfRaised()).not.toThrow();
    interruption.raise('SIGINT');
    expect(() => interruption.throwIfRaised()).toThrow(InterruptedError);
    expect(new InterruptedError('SIGINT').exitCode).toBe(130);
    expect(new InterruptedError('SIGTERM').exitCode).toBe(143);
    expect(new InterruptedError('SIGTERM').message).toBe('Interrupted: rolled back, nothing was changed');
  });

  it('ignores signals once the outcome is settled', () => {
    const interruption = new Interruption();
    const heard: string[] = [];
    interruption.subscribe((signal) => heard.push(signal));
    interruption.settle();
    expect(interruption.settled).toBe(true);
    expect(interruption.raise('SIGINT')).toBe(true);
    expect(heard).toEqual([]);
    expect(interruption.signal).toBeUndefined();
    expect(() => interruption.throwIfRaised()).not.toThrow();
  });
});
