/**
 * The shared token cache: one DynamoDB table so every Lambda instance reuses a user's access and
 * refresh token instead of exchanging again (the platform rate-limits exchanges per app).
 */
import { RemovalPolicy } from 'aws-cdk-lib';
import { AttributeType, Billing, TableEncryptionV2, TableV2 } from 'aws-cdk-lib/aws-dynamodb';
import { type IRole, PolicyStatement } from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';
import { CACHE_ITEM } from '../lambda/names.js';

/** The item operations the runtime performs, and nothing else (no Scan or Query). */
export const CACHE_TABLE_ACTIONS = ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem'] as const;

/** On-demand table keyed by `pk`, items expiring through the `expiresAt` TTL attribute (epoch seconds). */
export class CacheTable extends Construct {
  readonly table: TableV2;

  constructor(scope: Construct, id: string) {
    super(scope, id);
    this.table = new TableV2(this, 'Table', {
      partitionKey: { name: CACHE_ITEM.partitionKey, type: AttributeType.STRING },
      billing: Billing.onDemand(),
      timeToLiveAttribute: CACHE_ITEM.ttl,
      // PITR stays on (Control Tower CT.DYNAMODB.PR.1, cdk-nag DDB3) but keeps only the shortest
      // window DynamoDB allows: a restore is never needed for a cache, and backups would hold user
      // tokens for longer than a refresh token lives (12 h) if kept for the default 35 days.
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true, recoveryPeriodInDays: 1 },
      // Encrypted under the account's aws/dynamodb key, so key use shows up in CloudTrail.
      encryption: TableEncryptionV2.awsManagedKey(),
      // Only short-lived tokens live here and the proxy refills it on demand: deleting the stack
      // should not leave user tokens behind in an orphaned table.
      removalPolicy: RemovalPolicy.DESTROY,
    });
  }

  /** Grants `role` exactly {@link CACHE_TABLE_ACTIONS} on this table (no index, no stream). */
  grantItemAccess(role: IRole): void {
    role.addToPrincipalPolicy(
      new PolicyStatement({ actions: [...CACHE_TABLE_ACTIONS], resources: [this.table.tableArn] }),
    );
  }
}
