import DataLoader from 'dataloader';
import type { FunctionService } from './functions.js';
import type { ProvisionedConcurrencyService } from './provisioned-concurrency.js';
import type { FunctionAliasRow, FunctionVersionRow, ProvisionedConcurrencyRow } from './tables.js';

/** Batching for the nested fields of functions (one query per field and page). */
export function createFunctionLoaders(functions: FunctionService, provisioned: ProvisionedConcurrencyService) {
  const byFunction = <T extends { functionId: string }>(ids: readonly string[], rows: T[]) =>
    ids.map((id) => rows.filter((r) => r.functionId === id));
  return {
    functionVersions: new DataLoader<string, FunctionVersionRow[]>(async (ids) => byFunction(ids, await functions.versionsOf(ids))),
    functionAliases: new DataLoader<string, FunctionAliasRow[]>(async (ids) => byFunction(ids, await functions.aliasesOf(ids))),
    provisioned: new DataLoader<string, ProvisionedConcurrencyRow[]>(async (ids) => byFunction(ids, await provisioned.of(ids))),
  };
}

export type FunctionLoaders = ReturnType<typeof createFunctionLoaders>;
