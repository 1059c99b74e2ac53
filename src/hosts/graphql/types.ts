import { Field, Float, ID, InputType, Int, ObjectType, registerEnumType } from 'type-graphql';
import { DateTimeResolver, JSONResolver } from 'graphql-scalars';
import { Connection } from '../../platform/graphql/connection.js';

export enum HostState {
  READY = 'READY',
  DRAINING = 'DRAINING',
  LOST = 'LOST',
  REVOKED = 'REVOKED',
}
registerEnumType(HostState, {
  name: 'HostState',
  description: 'READY takes nodes; DRAINING takes none and moves its TASK nodes; LOST stopped heartbeating; REVOKED may not come back',
});

@ObjectType({ description: 'vCPU and memory (and disk, for capacity) of a host' })
export class HostResources {
  @Field(() => Int) vcpu!: number;
  @Field(() => Int) memoryMb!: number;
  @Field(() => Int, { nullable: true, description: 'what the machine offers (null for what is allocated: nodes take no disk share)' })
  diskMb!: number | null;
}

@ObjectType({ description: 'A function instance on a host (as of its last heartbeat)' })
export class HostFunctionInstance {
  @Field(() => String, { description: 'as invocations record it (`Invocation.instanceId`)' }) instanceId!: string;
  @Field(() => String) functionName!: string;
  @Field(() => String, { description: '"$LATEST" or a published version' }) version!: string;
  @Field(() => String, { description: 'INIT (starting), IDLE (warm) or BUSY (running an invocation)' }) state!: string;
  @Field(() => Int) memoryMb!: number;
  @Field(() => Boolean, { description: 'kept initialised for provisioned concurrency' }) provisioned!: boolean;
}

@ObjectType({ description: "Where a host's own install keeps what nodes need" })
export class HostInstallation {
  @Field(() => String) version!: string;
  @Field(() => String, { nullable: true }) sparkHome!: string | null;
  @Field(() => String, { nullable: true }) python!: string | null;
  @Field(() => [String]) s3aJars!: string[];
}

@ObjectType({ description: 'A machine nodes run on: the server’s own (embedded) or one that joined with a host token' })
export class Host {
  @Field(() => ID) id!: string;
  @Field(() => String) name!: string;
  @Field(() => HostState) state!: HostState;
  @Field(() => String, { nullable: true, description: 'why it is in its state' }) stateReason!: string | null;
  @Field(() => Boolean, { description: "a server's own machine" }) embedded!: boolean;
  @Field(() => Boolean, { description: 'a server holds its session now (embedded: its server runs)' }) connected!: boolean;
  @Field(() => String) address!: string;
  @Field(() => JSONResolver, { description: 'an object of strings; instance groups with hostLabels go only on hosts carrying them all' })
  labels!: Record<string, string>;
  @Field(() => HostResources) capacity!: HostResources;
  @Field(() => Float, { description: 'placement allocates up to capacity × overcommit' }) overcommit!: number;
  @Field(() => HostInstallation, { nullable: true, description: 'null on embedded hosts (the server’s own install)' })
  installation!: HostInstallation | null;
  @Field(() => DateTimeResolver, { nullable: true }) lastHeartbeatAt!: Date | null;
  @Field(() => DateTimeResolver) createdAt!: Date;
}

@ObjectType()
export class HostConnection extends Connection(Host, 'Host') {}

@InputType()
export class HostFilter {
  @Field(() => [HostState], { nullable: true }) states?: HostState[];
}

@InputType()
export class CreateHostTokenInput {
  @Field(() => Int, { nullable: true, description: '1 to 2592000 (30 days); default 3600' }) expiresInSeconds?: number;
  @Field(() => JSONResolver, { nullable: true, description: 'labels the joining host gets (over its own of the same keys)' })
  labels?: unknown;
  @Field(() => Boolean, { nullable: true, description: 'default true: one host joins with it; false: any number until it expires' })
  singleUse?: boolean;
}

@ObjectType()
export class CreateHostTokenPayload {
  @Field(() => String, { description: 'shown once: `emberplane host join --token <it>`; single use' }) token!: string;
  @Field(() => DateTimeResolver) expiresAt!: Date;
  @Field(() => JSONResolver) labels!: Record<string, string>;
  @Field(() => Boolean) singleUse!: boolean;
}

@InputType()
export class HostIdInput {
  @Field(() => ID) id!: string;
}

@ObjectType()
export class HostPayload {
  @Field(() => Host) host!: Host;
}

@ObjectType({ description: 'A host joined or changed state' })
export class HostUpdate {
  @Field(() => String, { description: 'resume with `after` to replay what followed' }) cursor!: string;
  @Field(() => DateTimeResolver) at!: Date;
  @Field(() => HostState) state!: HostState;
  @Field(() => String, { nullable: true }) message!: string | null;
  @Field(() => Host, { nullable: true, description: 'the host as it is now' }) host!: Host | null;
}
