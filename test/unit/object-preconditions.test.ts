// Conditional reads (GET/HEAD of /objects and of the S3 endpoint): ETags match with or without
// their quotes, as on S3 — the AWS SDK for Java v1 (Spark's s3a) sends If-Match bare, and a
// mismatch there fails every s3a read.
import { describe, expect, it } from 'vitest';
import { evaluatePreconditions } from '../../src/storage/object-reads.js';

const row = { etag: '"1ef3974e0508f39184100d873bc81456"', updatedAt: new Date('2026-01-01T00:00:00Z') };

describe('object preconditions', () => {
  it('If-Match takes the ETag quoted, bare, weak or in a list; another ETag fails', () => {
    for (const header of [
      '"1ef3974e0508f39184100d873bc81456"',
      '1ef3974e0508f39184100d873bc81456',
      'W/"1ef3974e0508f39184100d873bc81456"',
      '"x", 1ef3974e0508f39184100d873bc81456',
      '*',
    ]) {
      expect(evaluatePreconditions({ 'if-match': header }, row), header).toBe('proceed');
    }
    expect(evaluatePreconditions({ 'if-match': '1ef3974e0508f39184100d873bc81457' }, row)).toBe('precondition-failed');
    expect(evaluatePreconditions({ 'if-match': '"1ef3974e0508f39184100d873bc8145"' }, row)).toBe('precondition-failed');
  });

  it('If-None-Match matches the same way (304)', () => {
    expect(evaluatePreconditions({ 'if-none-match': '1ef3974e0508f39184100d873bc81456' }, row)).toBe('not-modified');
    expect(evaluatePreconditions({ 'if-none-match': '"other"' }, row)).toBe('proceed');
  });
});
