/**
 * CoordinationTable: the DynamoDB table of the router group's coordination store
 * (controller/coord/dynamodb-store.ts): the planner lease, the versioned plan, the learned state
 * and the routers' observations. Keys and the TTL attribute come from COORD_TABLE_KEYS, the store's
 * own names, so the table and the code cannot disagree. On demand (PAY_PER_REQUEST): 3 routers
 * publishing once per 5 s tick plus one lease renewal and one plan per tick is ~1 write/s, which
 * provisioned capacity's minimum would overpay; point-in-time recovery keeps the learned state
 * recoverable (35 days). The name is deterministic, so the serving stack references it without
 * a cross-stack export (as it does the model bucket).
 */
import { RemovalPolicy } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import { Construct } from 'constructs';
import { COORD_TABLE_KEYS } from '../../controller/coord/dynamodb-store.js';

/** DynamoDB table names: 3..255 characters of letters, digits, `_`, `-` and `.`. */
const TABLE_NAME = /^[A-Za-z0-9_.-]{3,255}$/;

/** The coordination table's name for a fleet (the router group's SPILLWAY_COORD_TABLE). */
export function coordinationTableName(fleetName: string): string {
  return `${fleetName}-coordination`;
}

export interface CoordinationTableProps {
  /** Table name. */
  readonly tableName: string;
  /** @default RemovalPolicy.RETAIN (the lease, plan and learned state survive `cdk destroy`, like the model bucket) */
  readonly removalPolicy?: RemovalPolicy;
}

export class CoordinationTable extends Construct {
  readonly table: dynamodb.Table;

  constructor(scope: Construct, id: string, props: CoordinationTableProps) {
    super(scope, id);
    if (!TABLE_NAME.test(props.tableName)) {
      throw new Error(
        `CoordinationTable tableName must be 3-255 letters, digits, '_', '-' or '.', got '${props.tableName}'`,
      );
    }
    this.table = new dynamodb.Table(this, 'Table', {
      tableName: props.tableName,
      partitionKey: { name: COORD_TABLE_KEYS.partitionKey, type: dynamodb.AttributeType.STRING },
      sortKey: { name: COORD_TABLE_KEYS.sortKey, type: dynamodb.AttributeType.STRING },
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      timeToLiveAttribute: COORD_TABLE_KEYS.ttlAttribute,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      encryption: dynamodb.TableEncryption.AWS_MANAGED,
      removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN,
    });
  }
}
