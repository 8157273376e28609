import { describe, expect, it } from 'vitest';
import { SingleFlight } from '../../../../lambda/proxy/cache/single-flight.js';

function deferred<T>() {
  let resolve!: (value: T) => void;
  let reject!: (reason: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

describe('SingleFlight', () => {
  it('runs concurrent work for one key once and gives every caller the result', async () => {
    // Prepare
    const flights = new SingleFlight<string>();
    const gate = deferred<string>();
    let runs = 0;
    const work = () => {
      runs++;
      return gate.promise;
    };

    // Act
    const calls = Array.from({ length: 50 }, () => flights.run('k', work));
    const other = flights.run('other', async () => 'other');
    gate.resolve('value');

    // Assess
    expect(await Promise.all(calls.map((c) => c.promise))).toEqual(Array(50).fill('value'));
    expect(calls.map((c) => c.joined)).toEqual([false, ...Array(49).fill(true)]);
    expect(await other.promise).toBe('other');
    expect(runs).toBe(1);
    expect(flights.size).toBe(0);
  });

  it('delivers a failure to every waiter and does not keep it: the next call runs again', async () => {
    // Prepare
    const flights = new SingleFlight<string>();
    const gate = deferred<string>();
    let runs = 0;

    // Act
    const calls = Array.from({ length: 5 }, () =>
      flights.run('k', () => {
        runs++;
        return gate.promise;
      }),
    );
    gate.reject(new Error('nhs down'));
    const outcomes = await Promise.allSettled(calls.map((c) => c.promise));
    const retry = flights.run('k', async () => {
      runs++;
      return 'recovered';
    });

    // Assess
    expect(outcomes.map((o) => o.status)).toEqual(Array(5).fill('rejected'));
    expect(new Set(outcomes.map((o) => (o as PromiseRejectedResult).reason)).size).toBe(1);
    expect(retry.joined).toBe(false);
    expect(await retry.promise).toBe('recovered');
    expect(runs).toBe(2);
  });

  it('turns a synchronous throw into a rejection shared by the joiners', async () => {
    const flights = new SingleFlight<string>();
    const first = flights.run('k', () => {
      throw new Error('sync');
    });
    const second = flights.run('k', async () => 'never');
    await expect(first.promise).rejects.toThrow('sync');
    await expect(second.promise).rejects.toThrow('sync');
    expect(flights.size).toBe(0);
  });
});
