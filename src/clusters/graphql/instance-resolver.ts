import { FieldResolver, Resolver, Root } from 'type-graphql';
import type { InstanceRow } from '../tables.js';
import { Instance, StateChangeReason } from './types.js';

@Resolver(() => Instance)
export class InstanceResolver {
  @FieldResolver(() => StateChangeReason, { nullable: true, description: 'why the instance ended (INSTANCE_FAILURE, USER_REQUEST, …)' })
  stateChangeReason(@Root() instance: InstanceRow): StateChangeReason | null {
    const { stateReasonCode: code, stateReasonMessage: message } = instance;
    return code || message ? { code, message } : null;
  }
}
