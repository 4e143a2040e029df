/**
 * One home for turning zod validation issues into messages that name the field.
 *
 * Every strict schema in the project (request bodies, options, environment, registry, profiles,
 * CDK context) reports through these, so a message reads the same everywhere:
 *   `batchSize: Too big: expected number to be <=256`
 *   `input.imgae: unknown field`                 (an unknown key is named itself, not its parent)
 * The caller adds what was being validated ("createVmServer option ...", "invalid profile: ...").
 */
import type { z } from 'zod';

export type ZodIssue = z.core.$ZodIssue;

/**
 * `true` only when a schema's output and a documented interface have the same keys: assigning
 * `true` to it fails to compile when an option is added to one and not the other.
 */
export type SameKeys<A, B> = [keyof A] extends [keyof B] ? ([keyof B] extends [keyof A] ? true : false) : false;

/** The dotted path of the issue ('' at the root), e.g. 'variants.2.name'. */
export function issuePath(issue: ZodIssue): string {
  return issue.path.map(String).join('.');
}

/**
 * The field an issue is about: its path, and for an unknown key the key itself
 * ('input.imgae'), so a client can point at the offending field.
 */
export function issueField(issue: ZodIssue): string {
  const path = issuePath(issue);
  if (issue.code === 'unrecognized_keys' && issue.keys.length > 0) return [path, issue.keys[0]].filter(Boolean).join('.');
  return path;
}

/**
 * The issue's message. An unknown key's line is already named by the key (issueField), so it says
 * "unknown field", and lists the other unknown keys when there are several.
 */
export function issueText(issue: ZodIssue): string {
  if (issue.code === 'unrecognized_keys') {
    const others = issue.keys.slice(1).map((k) => `'${k}'`);
    return others.length > 0 ? `unknown field (and ${others.join(', ')})` : 'unknown field';
  }
  return issue.message;
}

export interface DescribeIssuesOptions {
  /** At most this many issues are listed; the rest are counted. @default 3 */
  max?: number;
  /** How a field is shown (e.g. `spillway:${field}` for CDK context keys). @default field or '(root)' */
  label?: (path: string, issue: ZodIssue) => string;
  /** Text after the message (e.g. the accepted range or a fix). @default none */
  suffix?: (issue: ZodIssue) => string;
}

/** `field: message; field: message; and 2 more` over the issues of one failed parse. */
export function describeIssues(issues: readonly ZodIssue[], options: DescribeIssuesOptions = {}): string {
  const max = options.max ?? 3;
  const label = options.label ?? ((path: string) => path || '(root)');
  const lines = issues.slice(0, max).map((i) => `${label(issueField(i), i)}: ${issueText(i)}${options.suffix?.(i) ?? ''}`);
  const more = issues.length > max ? `; and ${issues.length - max} more` : '';
  return lines.length > 0 ? `${lines.join('; ')}${more}` : '(root): invalid';
}
