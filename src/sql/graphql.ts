import { Field, ObjectType } from 'type-graphql';
import { JSONResolver } from 'graphql-scalars';

@ObjectType({ description: 'A column of a SQL result: its name and DuckDB type (BIGINT, VARCHAR, DECIMAL(10,2), …)' })
export class SqlColumn {
  @Field(() => String) name!: string;
  @Field(() => String) type!: string;
}

@ObjectType({ description: 'The first rows of a query, for interactive use' })
export class SqlPreview {
  @Field(() => [SqlColumn]) columns!: SqlColumn[];
  @Field(() => JSONResolver, {
    description:
      'an array of rows, each an array of values in column order; BIGINT, HUGEINT and DECIMAL values are strings (exact), dates and timestamps ISO-like strings',
  })
  rows!: unknown[][];
  @Field(() => Boolean, { description: 'the query has more rows than `limit`' }) truncated!: boolean;
}
