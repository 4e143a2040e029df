/**
 * The Lambda concurrency the planner may plan with on AWS, when the deployment does not set
 * SPILLWAY_LAMBDA_CONCURRENCY: read from the account at start. A function with reserved
 * concurrency gets exactly that (a cap and a guarantee); the others share the account's
 * unreserved pool (GetAccountSettings UnreservedConcurrentExecutions). So the limit is the sum of
 * our functions' reserved concurrency, plus the unreserved pool if any of them draws on it.
 * (The unreserved pool is shared with the account's other functions: an upper bound, which the
 * 429 -> spill path covers when other workloads use part of it.)
 */
import { GetAccountSettingsCommand, GetFunctionConcurrencyCommand, type LambdaClient } from '@aws-sdk/client-lambda';
import { ConfigError } from '../errors.js';

export interface AccountConcurrency {
  /** What the planner gets. */
  limit: number;
  /** Sum over our functions with reserved concurrency. */
  reserved: number;
  /** The account's unreserved pool, counted only when some function of ours draws on it. */
  unreserved: number;
}

export async function readLambdaConcurrencyLimit(client: LambdaClient, functionNames: readonly string[]): Promise<AccountConcurrency> {
  let reserved = 0;
  let drawsOnUnreserved = functionNames.length === 0;
  for (const name of functionNames) {
    const r = await client.send(new GetFunctionConcurrencyCommand({ FunctionName: name }));
    if (r.ReservedConcurrentExecutions === undefined) drawsOnUnreserved = true;
    else reserved += r.ReservedConcurrentExecutions;
  }
  let unreserved = 0;
  if (drawsOnUnreserved) {
    const s = await client.send(new GetAccountSettingsCommand({}));
    const u = s.AccountLimit?.UnreservedConcurrentExecutions;
    if (u === undefined) throw new ConfigError('GetAccountSettings returned no UnreservedConcurrentExecutions; set SPILLWAY_LAMBDA_CONCURRENCY');
    unreserved = u;
  }
  const limit = reserved + unreserved;
  if (limit < 1) {
    throw new ConfigError(
      `Lambda concurrency available to ${functionNames.join(', ') || 'the functions'} is ${limit} (reserved ${reserved}, unreserved ${unreserved}): nothing could run; raise the account quota or set SPILLWAY_LAMBDA_CONCURRENCY`,
    );
  }
  return { limit, reserved, unreserved };
}
