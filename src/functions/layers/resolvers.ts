import { Arg, Authorized, Ctx, Int, Mutation, Query, Resolver } from 'type-graphql';
import type { FunctionRuntimeName } from '../tables.js';
import { Runtime } from '../graphql.js';
import {
  DeleteLayerVersionInput,
  DeleteLayerVersionPayload,
  Layer,
  LayerVersion,
  PublishLayerVersionInput,
  PublishLayerVersionPayload,
} from './graphql.js';
import { GET_LAYER_VERSION_ACTION, layerArn, layerVersionArn, type LayerService } from './service.js';
import type { LayerVersionRow } from './tables.js';
import type { Context } from '../../platform/graphql/context.js';

function toLayerVersion(row: LayerVersionRow): LayerVersion {
  return {
    layerName: row.layerName,
    version: row.version,
    layerArn: layerArn(row.layerName),
    layerVersionArn: layerVersionArn(row),
    description: row.description,
    compatibleRuntimes: row.compatibleRuntimes as Runtime[],
    codeSha256: row.codeSha256,
    codeSize: row.codeSize,
    createdAt: row.createdAt,
  };
}

@Resolver()
export class LayerResolver {
  constructor(private readonly service: LayerService) {}

  @Authorized('functions:PublishLayerVersion')
  @Mutation(() => PublishLayerVersionPayload, { description: 'A new, immutable version of the layer (version 1 makes the layer)' })
  async publishLayerVersion(@Arg('input', () => PublishLayerVersionInput) input: PublishLayerVersionInput, @Ctx() ctx: Context) {
    return { layerVersion: toLayerVersion(await this.service.publish(ctx.principal!, input)) };
  }

  @Authorized('functions:DeleteLayerVersion')
  @Mutation(() => DeleteLayerVersionPayload, { description: 'Functions that list the version keep it; its number is not reused' })
  async deleteLayerVersion(@Arg('input', () => DeleteLayerVersionInput) input: DeleteLayerVersionInput) {
    return { deleted: (await this.service.delete(input.layerName, input.version)) !== null };
  }

  @Authorized(GET_LAYER_VERSION_ACTION)
  @Query(() => LayerVersion, { nullable: true })
  async layerVersion(
    @Arg('layerName', () => String) layerName: string,
    @Arg('version', () => Int) version: number,
  ): Promise<LayerVersion | null> {
    const row = await this.service.version(layerName, version);
    return row ? toLayerVersion(row) : null;
  }

  @Authorized('functions:ListLayerVersions')
  @Query(() => [LayerVersion], { description: "A layer's versions, newest first" })
  async layerVersions(@Arg('layerName', () => String) layerName: string): Promise<LayerVersion[]> {
    return (await this.service.versions(layerName)).map(toLayerVersion);
  }

  @Authorized('functions:ListLayers')
  @Query(() => [Layer], {
    description: 'Every layer with a version, by name, with its newest version (compatible with the runtime, if given)',
  })
  async layers(@Arg('compatibleRuntime', () => Runtime, { nullable: true }) compatibleRuntime?: Runtime): Promise<Layer[]> {
    return (await this.service.layers((compatibleRuntime ?? null) as FunctionRuntimeName | null)).map((v) => ({
      layerName: v.layerName,
      layerArn: layerArn(v.layerName),
      latestMatchingVersion: toLayerVersion(v),
    }));
  }
}
