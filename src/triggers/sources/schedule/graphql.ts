// GraphQL shapes of SCHEDULE triggers (EventBridge schedules).
import { Field, InputType, ObjectType } from 'type-graphql';
import { DateTimeResolver } from 'graphql-scalars';

@InputType({ description: 'An EventBridge schedule: cron(Minutes Hours Day-of-month Month Day-of-week Year) or rate(Value Unit)' })
export class ScheduleSourceInput {
  @Field(() => String, { description: 'e.g. cron(0 18 ? * MON-FRI *), cron(0/15 * * * ? *), rate(5 minutes)' }) expression!: string;
  @Field(() => String, { nullable: true, description: 'the IANA time zone the cron fields are read in (default UTC), e.g. Europe/Berlin' })
  timezone?: string | null;
}

@ObjectType({ description: "A SCHEDULE trigger's expression and ticks" })
export class ScheduleSource {
  @Field(() => String) expression!: string;
  @Field(() => String) timezone!: string;
  @Field(() => DateTimeResolver, {
    nullable: true,
    description: 'the next tick; null while the trigger is disabled or when no tick is left',
  })
  nextFireAt!: Date | null;
  @Field(() => DateTimeResolver, { nullable: true, description: 'the scheduled time of the last tick delivered' })
  lastFiredAt!: Date | null;
}
