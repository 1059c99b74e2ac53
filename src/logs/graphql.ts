import { ArgsType, Field, Int, ObjectType, registerEnumType } from 'type-graphql';
import { DateTimeResolver } from 'graphql-scalars';
import { Connection } from '../platform/graphql/connection.js';
import { streamName } from './service.js';
import type { LogLineRow } from './tables.js';

export enum LogStreamKind {
  STDOUT = 'STDOUT',
  STDERR = 'STDERR',
  SYSTEM = 'SYSTEM',
}
registerEnumType(LogStreamKind, {
  name: 'LogStreamKind',
  description: 'STDOUT/STDERR of the process, SYSTEM for lines the control plane adds',
});

@ObjectType()
export class LogLine {
  @Field(() => String, { description: 'pass as `after` to continue after this line' }) cursor!: string;
  @Field(() => DateTimeResolver) at!: Date;
  @Field(() => LogStreamKind) stream!: LogStreamKind;
  @Field(() => String) text!: string;
}

@ObjectType({ description: 'consecutive lines of a log, oldest first: several when the subscriber is behind the log' })
export class LogLineBatch {
  @Field(() => [LogLine]) lines!: LogLine[];
}

@ObjectType()
export class LogLineConnection extends Connection(LogLine, 'LogLine') {
  @Field(() => Int, { description: 'lines stored in the whole log (not just this page); read from the stream head, no scan' })
  totalCount!: number;
}

@ArgsType()
export class LogPageArgs {
  @Field(() => Int, { nullable: true, description: 'the first lines after `after` (default 20, at most 100)' }) first?: number;
  @Field(() => String, { nullable: true }) after?: string;
  @Field(() => Int, { nullable: true, description: 'the last lines before `before` (the end of the log without it; at most 100)' })
  last?: number;
  @Field(() => String, { nullable: true }) before?: string;
}

export function toLogLine(row: LogLineRow): LogLine {
  return { cursor: String(row.seq), at: row.at, stream: streamName(row.stream) as LogStreamKind, text: row.text };
}
