import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { describeIssues, issueField, issueText } from '../../functions/engine/zod-issues.js';

const Schema = z.strictObject({
  batchSize: z.number().int().max(256),
  input: z.strictObject({ image: z.string() }).optional(),
});

const issuesOf = (v: unknown) => {
  const r = Schema.safeParse(v);
  if (r.success) throw new Error('expected a failure');
  return r.error.issues;
};

describe('zod issue messages (one home)', () => {
  it('names the field and the limit', () => {
    expect(describeIssues(issuesOf({ batchSize: 300 }))).toMatch(/^batchSize: .*256/);
  });

  it('an unknown key is named by its full path, not by its parent', () => {
    const [i] = issuesOf({ batchSize: 1, input: { image: 'x', imgae: 'y' } });
    expect(issueField(i!)).toBe('input.imgae');
    expect(issueText(i!)).toBe('unknown field');
    expect(describeIssues([i!])).toBe('input.imgae: unknown field');
    const [two] = issuesOf({ batchSize: 1, a: 1, b: 2 });
    expect(describeIssues([two!])).toBe("a: unknown field (and 'b')");
  });

  it('lists at most `max` issues and counts the rest; the root is named', () => {
    const issues = issuesOf('not an object');
    expect(describeIssues(issues)).toMatch(/^\(root\): /);
    const many = issuesOf({ batchSize: 'a', input: 3, x: 1 });
    expect(many.length).toBe(3);
    expect(describeIssues(many, { max: 1 })).toMatch(/; and 2 more$/);
  });

  it('label and suffix shape the line (CDK context keys, a fix to suggest)', () => {
    const text = describeIssues(issuesOf({ batchSize: 300 }), {
      label: (p) => `spillway:${p}`,
      suffix: () => ' (accepted: <= 256)',
    });
    expect(text).toMatch(/^spillway:batchSize: .* \(accepted: <= 256\)$/);
  });
});
