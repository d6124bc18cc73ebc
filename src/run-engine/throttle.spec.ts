import { DEFAULT_THROTTLE_LIMITS, Throttle, ThrottleExceededError, ThrottleLimits, ThrottleProbe } from './throttle';

/** A probe answering a script of lags (the last one repeats), and a clock that advances only by its sleeps. */
function setUp(lags: Array<number | null>, limits: Partial<ThrottleLimits> = {}) {
  const events: string[] = [];
  let now = 0;
  let call = 0;
  const probe = {
    replicationLagSeconds: async () => {
      const lag = lags[Math.min(call++, lags.length - 1)];
      events.push(`probe ${lag}`);
      return lag;
    },
  } as unknown as ThrottleProbe;
  const clock = {
    now: () => now,
    sleep: async (ms: number) => {
      events.push(`sleep ${ms}`);
      now += ms;
    },
  };
  const throttle = new Throttle({ ...DEFAULT_THROTTLE_LIMITS, ...limits }, probe, (line) => events.push(`print ${line}`), clock);
  const checkpoint = () => events.push('checkpoint');
  return { throttle, events, checkpoint };
}

describe('Throttle', () => {
  it('has the documented defaults', () => {
    expect(DEFAULT_THROTTLE_LIMITS).toEqual({ maxReplicationLagSeconds: 10, maxBlockedSessions: 1, pauseMs: 0, maxThrottleSeconds: 300 });
  });

  it('does not wait without standbys, or while the lag is within the limit', async () => {
    const { throttle, events, checkpoint } = setUp([null, 10]);
    await throttle.beforePage(checkpoint);
    await throttle.beforePage(checkpoint);
    expect(events).toEqual(['probe null', 'probe 10']);
    expect(throttle.waitedMs).toBe(0);
  });

  it('applies the fixed pause between pages (not before the first), apart from the throttled time', async () => {
    const { throttle, events, checkpoint } = setUp([null], { pauseMs: 250 });
    await throttle.beforePage(checkpoint);
    await throttle.beforePage(checkpoint);
    await throttle.beforePage(checkpoint);
    expect(events).toEqual(['probe null', 'sleep 250', 'checkpoint', 'probe null', 'sleep 250', 'checkpoint', 'probe null']);
    expect(throttle.pausedMs).toBe(500);
    expect(throttle.waitedMs).toBe(0);
  });

  it('waits while the replica lags, polling with a checkpoint between polls, printing once per wait', async () => {
    const { throttle, events, checkpoint } = setUp([12.36, 13, 14, 4, 7, 2], { maxReplicationLagSeconds: 5 });
    await throttle.beforePage(checkpoint);
    expect(events).toEqual([
      'probe 12.36',
      'print Throttled: replica lag 12.4 s > 5 s; waiting',
      'sleep 500',
      'checkpoint',
      'probe 13',
      'sleep 500',
      'checkpoint',
      'probe 14',
      'sleep 500',
      'checkpoint',
      'probe 4',
    ]);
    expect(throttle.waitedMs).toBe(1500);
    events.length = 0;
    await throttle.beforePage(checkpoint);
    expect(events).toEqual(['probe 7', 'print Throttled: replica lag 7.0 s > 5 s; waiting', 'sleep 500', 'checkpoint', 'probe 2']);
    expect(throttle.waitedMs).toBe(2000);
  });

  it('backs off once when the last page blocked more sessions than allowed, then clears', async () => {
    const { throttle, events, checkpoint } = setUp([null]);
    throttle.recordBlocked(1);
    await throttle.beforePage(checkpoint);
    expect(events).toEqual(['probe null']);
    events.length = 0;
    throttle.recordBlocked(3);
    await throttle.beforePage(checkpoint);
    await throttle.beforePage(checkpoint);
    expect(events).toEqual(['print Throttled: 3 sessions blocked by the run > 1; waiting', 'sleep 1000', 'checkpoint', 'probe null', 'probe null']);
    expect(throttle.waitedMs).toBe(1000);
  });

  it('rounds the lag up to a tenth, so that it never reads as equal to the limit', async () => {
    const { throttle, events, checkpoint } = setUp([1.04, 1], { maxReplicationLagSeconds: 1 });
    await throttle.beforePage(checkpoint);
    expect(events[1]).toBe('print Throttled: replica lag 1.1 s > 1 s; waiting');
  });

  it('keeps the contract\'s form for one session when the limit is 0', async () => {
    const { throttle, events, checkpoint } = setUp([null], { maxBlockedSessions: 0 });
    throttle.recordBlocked(1);
    await throttle.beforePage(checkpoint);
    expect(events[0]).toBe('print Throttled: 1 sessions blocked by the run > 0; waiting');
  });

  it('fails once the waits of the whole run add up to more than --max-throttle', async () => {
    const { throttle, events, checkpoint } = setUp([11, 11, 11, 3, 42], { maxThrottleSeconds: 2 });
    await throttle.beforePage(checkpoint); // 1.5 s held
    const error = await throttle.beforePage(checkpoint).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ThrottleExceededError);
    expect((error as Error).message).toBe('Throttled for more than 2 s (--max-throttle 2): replica lag 42.0 s > 10 s');
    expect(events.filter((e) => e.startsWith('print'))).toEqual([
      'print Throttled: replica lag 11.0 s > 10 s; waiting',
      'print Throttled: replica lag 42.0 s > 10 s; waiting',
    ]);
    expect(throttle.waitedMs).toBe(2500);
  });

  it('counts blocked-session back-offs towards --max-throttle', async () => {
    const { throttle, checkpoint } = setUp([null], { maxThrottleSeconds: 1 });
    throttle.recordBlocked(2);
    await throttle.beforePage(checkpoint); // exactly 1 s: not more than the limit
    throttle.recordBlocked(5);
    await expect(throttle.beforePage(checkpoint)).rejects.toThrow(
      new ThrottleExceededError('Throttled for more than 1 s (--max-throttle 1): 5 sessions blocked by the run > 1'),
    );
  });

  it('lets the checkpoint interrupt a wait', async () => {
    const { throttle, events } = setUp([30]);
    const interrupted = new Error('interrupted');
    await expect(
      throttle.beforePage(() => {
        throw interrupted;
      }),
    ).rejects.toBe(interrupted);
    expect(events).toEqual(['probe 30', 'print Throttled: replica lag 30.0 s > 10 s; waiting', 'sleep 500']);
  });
});
