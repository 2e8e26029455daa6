import { describe, expect, it } from 'vitest';
import { runExperiment } from './experiment.js';
import { generateSyntheticTrace } from './synthetic-trace.js';
import { artifactZoneOrders, parseZoneShuffle } from './zone-shuffle.js';

describe('artifactZoneOrders', () => {
  it("compounds Python's random.shuffle, reseeded with 0 before each repeat", () => {
    // CPython 3.11.7: z = sorted(zones); for each repeat: random.seed(0); random.shuffle(z).
    const zones = [
      'asia-northeast1-a',
      'europe-west4-a',
      'us-central1-a',
      'us-central1-b',
      'us-east1-b',
      'us-west1-b',
    ];
    expect(artifactZoneOrders(zones, 3)).toEqual([
      [
        'us-east1-b',
        'us-central1-a',
        'europe-west4-a',
        'asia-northeast1-a',
        'us-west1-b',
        'us-central1-b',
      ],
      [
        'us-west1-b',
        'europe-west4-a',
        'us-central1-a',
        'us-east1-b',
        'us-central1-b',
        'asia-northeast1-a',
      ],
      [
        'us-central1-b',
        'us-central1-a',
        'europe-west4-a',
        'us-west1-b',
        'asia-northeast1-a',
        'us-east1-b',
      ],
    ]);
    expect(artifactZoneOrders([0, 1, 2, 3, 4, 5, 6, 7, 8], 2)).toEqual([
      [7, 5, 1, 3, 4, 2, 0, 8, 6],
      [8, 2, 5, 3, 4, 1, 7, 6, 0],
    ]);
    // The input is left as it was.
    expect(zones[0]).toBe('asia-northeast1-a');
  });
});

describe('parseZoneShuffle', () => {
  it('accepts the three modes and names a wrong value', () => {
    expect(parseZoneShuffle('artifact')).toBe('artifact');
    expect(parseZoneShuffle('seeded')).toBe('seeded');
    expect(parseZoneShuffle('none')).toBe('none');
    expect(() => parseZoneShuffle('python')).toThrow(/--zone-shuffle.*"python"/);
  });
});

describe('runExperiment zoneShuffle', () => {
  const trace = generateSyntheticTrace({ seed: 4, hours: 8 });
  const zones = trace.zones.map((zone) => zone.location);
  const orders = async (zoneShuffle: 'artifact' | 'seeded' | 'none', seed = 0) => {
    const [row] = await runExperiment({
      trace,
      policies: ['even-spread'],
      hours: 1,
      repeats: 3,
      seed,
      zoneShuffle,
      keepTimelines: true,
    });
    return row!.timelines!.map((timeline) => timeline.locations);
  };

  it("offers each repeat's zones in the artifact's order, whatever the seed", async () => {
    expect(await orders('artifact')).toEqual(artifactZoneOrders(zones, 3));
    expect(await orders('artifact', 5)).toEqual(artifactZoneOrders(zones, 3));
    // The default is artifact.
    const [row] = await runExperiment({
      trace,
      policies: ['even-spread'],
      hours: 1,
      repeats: 3,
      keepTimelines: true,
    });
    expect(row!.timelines!.map((timeline) => timeline.locations)).toEqual(
      artifactZoneOrders(zones, 3),
    );
  });

  it('keeps the trace order with none and shuffles per repeat and seed with seeded', async () => {
    expect(await orders('none')).toEqual([zones, zones, zones]);
    const seeded = await orders('seeded');
    expect(seeded[0]).not.toEqual(zones);
    expect(seeded[0]).not.toEqual(seeded[1]);
    expect(await orders('seeded', 1)).not.toEqual(seeded);
  });

  it('rejects an unknown mode, naming the option', async () => {
    await expect(
      runExperiment({
        trace,
        policies: ['even-spread'],
        hours: 1,
        zoneShuffle: 'python' as 'none',
      }),
    ).rejects.toThrow(/`zoneShuffle`.*"python"/);
  });
});
