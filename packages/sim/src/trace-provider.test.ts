import { CapacityUnavailableError, NotOwnedError, serviceOwnershipTags } from '@spothedge/core';
import { ManualClock } from '@spothedge/core/testing';
import { describe, expect, it } from 'vitest';
import { TraceProvider } from './trace-provider.js';
import type { SpotTrace } from './trace.js';

const trace: SpotTrace = {
  name: 'two-zones',
  values: 'count',
  tickSeconds: 30,
  ticks: 6,
  zones: [
    {
      location: 'aws/us-east-1/us-east-1a',
      source: 'test',
      capacity: Int32Array.from([2, 2, 1, 1, 0, 2]),
    },
    {
      location: 'aws/us-east-1/us-east-1b',
      source: 'test',
      capacity: Int32Array.from([0, 1, 1, 1, 1, 1]),
    },
  ],
};
const tags = serviceOwnershipTags('svc');

function launch(
  provider: TraceProvider,
  location: string,
  key: string,
  capacityType: 'spot' | 'on-demand' = 'spot',
) {
  return provider.launch({
    location,
    capacityType,
    instanceType: 'gpu',
    tags,
    idempotencyKey: key,
  });
}

describe('TraceProvider', () => {
  it('fails spot launches beyond capacity and preempts the newest on a drop', async () => {
    const clock = new ManualClock({ now: 0 });
    const provider = new TraceProvider({ trace, clock });
    const first = await launch(provider, 'aws/us-east-1/us-east-1a', 'a');
    await clock.advance(1_000);
    const second = await launch(provider, 'aws/us-east-1/us-east-1a', 'b');
    await expect(launch(provider, 'aws/us-east-1/us-east-1a', 'c')).rejects.toSatisfy((error) =>
      CapacityUnavailableError.isInstance(error),
    );
    await expect(launch(provider, 'aws/us-east-1/us-east-1b', 'd')).rejects.toThrow(
      /No spot capacity/,
    );
    expect((await launch(provider, 'aws/us-east-1/us-east-1a', 'a')).id).toBe(first.id); // idempotent
    await clock.advanceTo(60_000); // tick 2: capacity 1
    const listed = await provider.list({ tags });
    expect(listed.find((instance) => instance.id === second.id)?.state).toBe('preempted');
    expect(listed.find((instance) => instance.id === first.id)?.state).toBe('running');
    await clock.advanceTo(120_000); // tick 4: capacity 0
    expect(
      (await provider.list({ tags })).filter((instance) => instance.state === 'running'),
    ).toHaveLength(0);
  });

  it('launches on-demand anywhere, reports warm after the cold start, refuses foreign terminations', async () => {
    const clock = new ManualClock({ now: 0 });
    const provider = new TraceProvider({ trace, clock, coldStartMs: 120_000 });
    const instance = await launch(provider, 'aws/us-east-1/us-east-1b', 'od', 'on-demand');
    expect(provider.isWarm(instance.id)).toBe(false);
    await clock.advance(120_000);
    expect(provider.isWarm(instance.id)).toBe(true);
    await expect(
      provider.terminate({ instanceId: instance.id, tags: { other: 'x' } }),
    ).rejects.toSatisfy((error) => NotOwnedError.isInstance(error));
    await provider.terminate({ instanceId: instance.id, tags });
    await provider.terminate({ instanceId: instance.id, tags });
    expect((await provider.list({ tags }))[0]?.state).toBe('terminated');
    const offerings = await provider.offerings();
    expect(offerings).toHaveLength(4);
  });
});
