/**
 * The one rule for a variant name. A name ends up in URLs (/v1/models/{name}/infer), file names
 * ($SPILLWAY_HOME/models/<name>.onnx) and, most restrictively, Lambda function names:
 * `${prefix}${name}`, where Lambda allows only letters, digits, '-' and '_' and at most 64
 * characters INCLUDING the prefix (infra/constructs/variant-function.ts, aws/lambda-pool.ts and the
 * local Lambda runtime all build names this way). Lower case only, so a name means one thing in a
 * case-insensitive file system too. `spillway models add`, the registry schema (so a start-up
 * refuses the same names with the same message) and the CDK config all check this rule.
 */

/** Lambda's limit on a function name (prefix included). */
export const LAMBDA_FUNCTION_NAME_MAX_CHARS = 64;
/** What the local stack, the AWS adapter and the CDK stacks prefix function names with by default. */
export const DEFAULT_FUNCTION_PREFIX = 'spillway-';
/** Longest variant name that still fits the default prefix: 64 - 'spillway-'.length = 55. */
export const VARIANT_NAME_MAX_CHARS = LAMBDA_FUNCTION_NAME_MAX_CHARS - DEFAULT_FUNCTION_PREFIX.length;

const VARIANT_NAME_CHARS = /^[a-z0-9][a-z0-9_-]*$/;

/** Lambda function name of a variant under a prefix. */
export function lambdaFunctionName(variant: string, prefix: string = DEFAULT_FUNCTION_PREFIX): string {
  return `${prefix}${variant}`;
}

/**
 * Why `name` cannot be a variant name (under `prefix`), or undefined when it can. The message
 * names the field and the limit.
 */
export function variantNameProblem(
  name: string,
  prefix: string = DEFAULT_FUNCTION_PREFIX,
): string | undefined {
  const shown = `'${name}'`;
  if (!VARIANT_NAME_CHARS.test(name)) {
    return (
      `name ${shown} is not allowed: use lower-case letters, digits, '-' and '_', starting with a letter or digit ` +
      `(no '.', spaces or capitals: the name becomes part of the Lambda function name '${prefix}<name>')`
    );
  }
  const max = LAMBDA_FUNCTION_NAME_MAX_CHARS - prefix.length;
  if (name.length > max) {
    return (
      `name ${shown} is ${name.length} characters; at most ${max} are allowed (Lambda function names are at most ` +
      `${LAMBDA_FUNCTION_NAME_MAX_CHARS} characters including the prefix '${prefix}')`
    );
  }
  return undefined;
}
