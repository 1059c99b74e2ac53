// GraphQL shapes of layers (Lambda's PublishLayerVersion, GetLayerVersion, ListLayers, ListLayerVersions,
// DeleteLayerVersion). Shape only.
import { Field, InputType, Int, ObjectType } from 'type-graphql';
import { DateTimeResolver } from 'graphql-scalars';
import { FunctionCodeInput, Runtime } from '../graphql.js';

@ObjectType({ description: 'One immutable version of a layer: a zip that functions list and their instances see at /opt' })
export class LayerVersion {
  @Field(() => String) layerName!: string;
  @Field(() => Int) version!: number;
  @Field(() => String, { description: 'the layer ARN without a version' }) layerArn!: string;
  @Field(() => String, { description: 'what a function lists in its layers' }) layerVersionArn!: string;
  @Field(() => String) description!: string;
  @Field(() => [Runtime]) compatibleRuntimes!: Runtime[];
  @Field(() => String, { description: "base64 sha256 of the zip, as Lambda's CodeSha256" }) codeSha256!: string;
  @Field(() => Int) codeSize!: number;
  @Field(() => DateTimeResolver) createdAt!: Date;
}

@ObjectType({ description: 'A layer, with its newest version (matching the runtime asked for)' })
export class Layer {
  @Field(() => String) layerName!: string;
  @Field(() => String) layerArn!: string;
  @Field(() => LayerVersion) latestMatchingVersion!: LayerVersion;
}

@InputType()
export class PublishLayerVersionInput {
  @Field(() => String, { description: '1–64 letters, digits, hyphens or underscores; a new name makes the layer' }) layerName!: string;
  @Field(() => FunctionCodeInput, { description: "the zip, as a function's code: zipBase64, s3Uri or files" })
  content!: FunctionCodeInput;
  @Field(() => String, { nullable: true }) description?: string;
  @Field(() => [Runtime], { nullable: true }) compatibleRuntimes?: Runtime[];
}

@ObjectType()
export class PublishLayerVersionPayload {
  @Field(() => LayerVersion) layerVersion!: LayerVersion;
}

@InputType()
export class DeleteLayerVersionInput {
  @Field(() => String) layerName!: string;
  @Field(() => Int) version!: number;
}

@ObjectType()
export class DeleteLayerVersionPayload {
  @Field(() => Boolean, { description: 'false: there was no such version (deleting is idempotent)' }) deleted!: boolean;
}
