import { createHash } from 'node:crypto';

/** GCP label keys and values: at most 63 characters of `[a-z0-9_-]` (keys start with a letter). */
const MAX_LABEL_LENGTH = 63;
const VALID_LABEL_VALUE = /^[a-z0-9_-]{0,63}$/;
const VALID_LABEL_KEY = /^[a-z][a-z0-9_-]{0,62}$/;

/** Name of the metadata item that keeps the original (unmapped) tags of an instance. */
export const TAGS_METADATA_KEY = 'spothedge-tags';

function shortHash(text: string): string {
  return createHash('sha256').update(text).digest('hex').slice(0, 8);
}

/**
 * Maps a tag value to a valid GCP label value. Valid values pass through unchanged; others
 * are lowercased, invalid characters become `_`, and a hash of the original is appended
 * so that two different values never map to the same label.
 */
export function toLabelValue(value: string): string {
  if (VALID_LABEL_VALUE.test(value)) return value;
  const cleaned = value.toLowerCase().replace(/[^a-z0-9_-]/g, '_');
  return `${cleaned.slice(0, MAX_LABEL_LENGTH - 9)}-${shortHash(value)}`;
}

/** Maps a tag key to a valid GCP label key (see {@link toLabelValue}). */
export function toLabelKey(key: string): string {
  if (VALID_LABEL_KEY.test(key)) return key;
  let cleaned = key.toLowerCase().replace(/[^a-z0-9_-]/g, '_');
  if (!/^[a-z]/.test(cleaned)) cleaned = `k${cleaned}`;
  return `${cleaned.slice(0, MAX_LABEL_LENGTH - 9)}-${shortHash(key)}`;
}

/** Maps a whole tag set to GCP labels. */
export function toLabels(tags: Readonly<Record<string, string>>): Record<string, string> {
  const labels: Record<string, string> = {};
  for (const [key, value] of Object.entries(tags)) labels[toLabelKey(key)] = toLabelValue(value);
  return labels;
}

/**
 * A Compute Engine list filter matching instances that carry every label of `labels`:
 * `(labels.a = "x") AND (labels.b = "y")`.
 */
export function labelFilter(labels: Readonly<Record<string, string>>): string {
  return Object.entries(labels)
    .sort(([left], [right]) => left.localeCompare(right))
    .map(([key, value]) => `(labels.${key} = "${value}")`)
    .join(' AND ');
}
