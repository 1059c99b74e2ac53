/* eslint-disable */
import * as types from './graphql.js';
import type { TypedDocumentNode as DocumentNode } from '@graphql-typed-document-node/core';

/**
 * Map of all GraphQL operations in the project.
 *
 * This map has several performance disadvantages:
 * 1. It is not tree-shakeable, so it will include all operations in the project.
 * 2. It is not minifiable, so the string of a GraphQL query will be multiple times inside the bundle.
 * 3. It does not support dead code elimination, so it will add unused operations.
 *
 * Therefore it is highly recommended to use the babel or swc plugin for production.
 * Learn more about it here: https://the-guild.dev/graphql/codegen/plugins/presets/preset-client#reducing-bundle-size
 */
type Documents = {
    "\n  query ConsoleWhoAmI {\n    instanceTypes {\n      name\n    }\n  }\n": typeof types.ConsoleWhoAmIDocument,
    "\n  query ConsoleBuckets {\n    buckets {\n      name\n      uri\n      createdAt\n    }\n  }\n": typeof types.ConsoleBucketsDocument,
    "\n  mutation ConsoleCreateBucket($name: String!) {\n    createBucket(input: { name: $name }) {\n      bucket {\n        name\n      }\n    }\n  }\n": typeof types.ConsoleCreateBucketDocument,
    "\n  query ConsoleObjects($bucket: String!, $prefix: String, $after: String) {\n    objects(bucket: $bucket, prefix: $prefix, delimiter: \"/\", first: 100, after: $after) {\n      commonPrefixes\n      edges {\n        node {\n          key\n          size\n          lastModified\n          contentType\n        }\n      }\n      pageInfo {\n        hasNextPage\n        endCursor\n      }\n    }\n  }\n": typeof types.ConsoleObjectsDocument,
    "\n  query ConsoleCluster($id: ID!) {\n    cluster(id: $id) {\n      id\n      name\n      state\n      stateChangeReason {\n        code\n        message\n      }\n      applications\n      terminationProtected\n      createdAt\n      readyAt\n      endedAt\n      instanceGroups {\n        id\n        role\n        instanceType\n        requestedCount\n        state\n      }\n      instances {\n        id\n        role\n        state\n        instanceType\n        groupId\n        placedOn {\n          name\n        }\n      }\n      steps(first: 50) {\n        edges {\n          node {\n            id\n            name\n            kind\n            state\n            progress\n            createdAt\n          }\n        }\n      }\n    }\n  }\n": typeof types.ConsoleClusterDocument,
    "\n  subscription ConsoleClusterEvents($clusterId: ID!) {\n    clusterEvents(clusterId: $clusterId) {\n      cursor\n      at\n      kind\n      resourceId\n      state\n      previousState\n      message\n    }\n  }\n": typeof types.ConsoleClusterEventsDocument,
    "\n  mutation ConsoleResize($input: ModifyInstanceGroupInput!) {\n    modifyInstanceGroup(input: $input) {\n      instanceGroup {\n        id\n        requestedCount\n        state\n      }\n    }\n  }\n": typeof types.ConsoleResizeDocument,
    "\n  mutation ConsoleTerminate($ids: [ID!]!) {\n    terminateClusters(input: { ids: $ids }) {\n      clusters {\n        id\n        state\n      }\n    }\n  }\n": typeof types.ConsoleTerminateDocument,
    "\n  query ConsoleClusters($filter: ClusterFilter, $after: String, $first: Int) {\n    clusters(first: $first, filter: $filter, after: $after) {\n      edges {\n        node {\n          id\n          name\n          state\n          createdAt\n          instanceGroups {\n            id\n            role\n            requestedCount\n          }\n        }\n      }\n      pageInfo {\n        hasNextPage\n        endCursor\n      }\n    }\n  }\n": typeof types.ConsoleClustersDocument,
    "\n  query ConsoleCreateOptions {\n    instanceTypes {\n      name\n      vcpu\n      memoryMb\n    }\n    applications {\n      name\n      available\n      reason\n    }\n  }\n": typeof types.ConsoleCreateOptionsDocument,
    "\n  mutation ConsoleCreateCluster($input: CreateClusterInput!) {\n    createCluster(input: $input) {\n      cluster {\n        id\n        name\n        state\n      }\n    }\n  }\n": typeof types.ConsoleCreateClusterDocument,
    "\n  query ConsoleFunctions {\n    functions(first: 100) {\n      edges {\n        node {\n          name\n          runtime\n          handler\n          memoryMb\n          state\n          lastModifiedAt\n        }\n      }\n    }\n  }\n": typeof types.ConsoleFunctionsDocument,
    "\n  mutation ConsoleCreateFunction($input: CreateFunctionInput!) {\n    createFunction(input: $input) {\n      function {\n        name\n        state\n      }\n    }\n  }\n": typeof types.ConsoleCreateFunctionDocument,
    "\n  query ConsoleFunction($name: String!) {\n    function(name: $name) {\n      name\n      arn\n      runtime\n      handler\n      memoryMb\n      timeoutSeconds\n      codeSize\n      codeSha256\n      state\n      stateReason\n      lastUpdateStatus\n      lastModifiedAt\n      instances {\n        busy\n        total\n      }\n      versions {\n        version\n        description\n        createdAt\n      }\n      aliases {\n        name\n        functionVersion\n        routing {\n          additionalVersionWeights {\n            version\n            weight\n          }\n        }\n      }\n    }\n  }\n": typeof types.ConsoleFunctionDocument,
    "\n  mutation ConsoleInvoke($input: InvokeFunctionInput!) {\n    invokeFunction(input: $input) {\n      statusCode\n      functionError\n      payload\n      executedVersion\n      invocation {\n        id\n        durationMs\n        billedDurationMs\n        coldStart\n        logs {\n          at\n          stream\n          text\n        }\n      }\n    }\n  }\n": typeof types.ConsoleInvokeDocument,
    "\n  mutation ConsolePublishVersion($input: PublishVersionInput!) {\n    publishVersion(input: $input) {\n      version {\n        version\n      }\n    }\n  }\n": typeof types.ConsolePublishVersionDocument,
    "\n  mutation ConsoleCreateAlias($input: CreateAliasInput!) {\n    createAlias(input: $input) {\n      alias {\n        name\n      }\n    }\n  }\n": typeof types.ConsoleCreateAliasDocument,
    "\n  mutation ConsoleUpdateAlias($input: UpdateAliasInput!) {\n    updateAlias(input: $input) {\n      alias {\n        name\n        functionVersion\n        routing {\n          additionalVersionWeights {\n            version\n            weight\n          }\n        }\n      }\n    }\n  }\n": typeof types.ConsoleUpdateAliasDocument,
    "\n  query ConsoleApiKeys {\n    apiKeys {\n      id\n      name\n      actions\n      s3AccessKeyId\n      createdAt\n      revokedAt\n    }\n  }\n": typeof types.ConsoleApiKeysDocument,
    "\n  mutation ConsoleCreateApiKey($input: CreateApiKeyInput!) {\n    createApiKey(input: $input) {\n      key\n      s3AccessKeyId\n      s3SecretAccessKey\n      apiKey {\n        id\n        name\n      }\n    }\n  }\n": typeof types.ConsoleCreateApiKeyDocument,
    "\n  mutation ConsoleRevokeApiKey($id: ID!) {\n    revokeApiKey(input: { id: $id }) {\n      apiKey {\n        id\n        revokedAt\n      }\n    }\n  }\n": typeof types.ConsoleRevokeApiKeyDocument,
    "\n  query ConsoleQueues {\n    queues(first: 100) {\n      edges {\n        node {\n          id\n          name\n          approximateNumberOfMessages\n          approximateNumberOfMessagesNotVisible\n          redrivePolicy {\n            deadLetterQueueName\n            maxReceiveCount\n          }\n          createdAt\n        }\n      }\n    }\n  }\n": typeof types.ConsoleQueuesDocument,
    "\n  query ConsoleQueue($name: String!) {\n    queue(name: $name) {\n      id\n      name\n      arn\n      approximateNumberOfMessages\n      approximateNumberOfMessagesNotVisible\n      approximateNumberOfMessagesDelayed\n      visibilityTimeoutSeconds\n      delaySeconds\n      messageRetentionSeconds\n      receiveMessageWaitTimeSeconds\n      redrivePolicy {\n        deadLetterQueueName\n        maxReceiveCount\n      }\n    }\n  }\n": typeof types.ConsoleQueueDocument,
    "\n  mutation ConsoleCreateQueue($input: CreateQueueInput!) {\n    createQueue(input: $input) {\n      queue {\n        id\n        name\n      }\n    }\n  }\n": typeof types.ConsoleCreateQueueDocument,
    "\n  mutation ConsoleSend($input: SendMessageInput!) {\n    sendMessage(input: $input) {\n      messageId\n    }\n  }\n": typeof types.ConsoleSendDocument,
    "\n  mutation ConsoleReceive($input: ReceiveMessagesInput!) {\n    receiveMessages(input: $input) {\n      messages {\n        messageId\n        body\n        receiptHandle\n        messageAttributes {\n          name\n          dataType\n          stringValue\n          binaryValue\n        }\n        attributes {\n          approximateReceiveCount\n          sentTimestamp\n        }\n      }\n    }\n  }\n": typeof types.ConsoleReceiveDocument,
    "\n  mutation ConsoleDeleteMessage($input: DeleteMessageInput!) {\n    deleteMessage(input: $input) {\n      deleted\n    }\n  }\n": typeof types.ConsoleDeleteMessageDocument,
    "\n  mutation ConsolePurge($name: String!) {\n    purgeQueue(input: { name: $name }) {\n      purged\n    }\n  }\n": typeof types.ConsolePurgeDocument,
    "\n  query ConsoleSqlClusters {\n    clusters(first: 100, filter: { states: [WAITING, RUNNING] }) {\n      edges {\n        node {\n          id\n          name\n          applications\n        }\n      }\n    }\n  }\n": typeof types.ConsoleSqlClustersDocument,
    "\n  query ConsoleSqlPreview($clusterId: ID!, $query: String!, $limit: Int) {\n    sqlPreview(clusterId: $clusterId, query: $query, limit: $limit) {\n      columns {\n        name\n        type\n      }\n      rows\n      truncated\n    }\n  }\n": typeof types.ConsoleSqlPreviewDocument,
    "\n  query ConsoleStep($id: ID!) {\n    step(id: $id) {\n      id\n      name\n      kind\n      state\n      progress\n      clusterId\n      logStreamId\n      exitCode\n      failureDetails {\n        message\n      }\n    }\n  }\n": typeof types.ConsoleStepDocument,
    "\n  subscription ConsoleStepUpdates($stepId: ID!) {\n    stepUpdates(stepId: $stepId) {\n      id\n      state\n      progress\n      exitCode\n      failureDetails {\n        message\n      }\n    }\n  }\n": typeof types.ConsoleStepUpdatesDocument,
    "\n  subscription ConsoleLogTail($streamId: ID!, $tail: Int) {\n    logBatches(streamId: $streamId, tail: $tail) {\n      lines {\n        cursor\n        at\n        stream\n        text\n      }\n    }\n  }\n": typeof types.ConsoleLogTailDocument,
    "\n  query ConsoleOlderLines($id: ID!, $before: String) {\n    step(id: $id) {\n      logs(last: 100, before: $before) {\n        edges {\n          node {\n            cursor\n            at\n            stream\n            text\n          }\n        }\n        pageInfo {\n          hasPreviousPage\n        }\n      }\n    }\n  }\n": typeof types.ConsoleOlderLinesDocument,
    "\n  mutation ConsoleCancel($input: CancelStepsInput!) {\n    cancelSteps(input: $input) {\n      results {\n        stepId\n        status\n        reason\n      }\n    }\n  }\n": typeof types.ConsoleCancelDocument,
    "\n  query ConsoleTopics {\n    topics(first: 100) {\n      edges {\n        node {\n          id\n          name\n          createdAt\n          queueSubscriptions {\n            id\n          }\n          subscriptions {\n            id\n          }\n        }\n      }\n    }\n  }\n": typeof types.ConsoleTopicsDocument,
    "\n  query ConsoleTopic($name: String!) {\n    topic(name: $name) {\n      id\n      name\n      arn\n      queueSubscriptions {\n        id\n        queueName\n        rawMessageDelivery\n        filterPolicy\n      }\n      subscriptions {\n        id\n        name\n        functionName\n        enabled\n      }\n    }\n  }\n": typeof types.ConsoleTopicDocument,
    "\n  mutation ConsoleCreateTopic($name: String!) {\n    createTopic(input: { name: $name }) {\n      topic {\n        id\n        name\n      }\n    }\n  }\n": typeof types.ConsoleCreateTopicDocument,
    "\n  mutation ConsolePublish($input: PublishInput!) {\n    publish(input: $input) {\n      messageId\n      deliveries\n    }\n  }\n": typeof types.ConsolePublishDocument,
    "\n  mutation ConsoleSubscribeQueue($input: SubscribeQueueInput!) {\n    subscribeQueue(input: $input) {\n      subscription {\n        id\n      }\n    }\n  }\n": typeof types.ConsoleSubscribeQueueDocument,
    "\n  query ConsoleTriggers($filter: TriggerFilter) {\n    triggers(first: 100, filter: $filter) {\n      edges {\n        node {\n          id\n          name\n          functionName\n          qualifier\n          sourceType\n          enabled\n          config\n          createdAt\n          schedule {\n            nextFireAt\n          }\n          http {\n            url\n          }\n        }\n      }\n    }\n    functions(first: 100) {\n      edges {\n        node {\n          name\n        }\n      }\n    }\n  }\n": typeof types.ConsoleTriggersDocument,
    "\n  mutation ConsoleCreateTrigger($input: CreateTriggerInput!) {\n    createTrigger(input: $input) {\n      trigger {\n        id\n        name\n      }\n    }\n  }\n": typeof types.ConsoleCreateTriggerDocument,
    "\n  mutation ConsoleSetTriggerEnabled($input: SetTriggerEnabledInput!) {\n    setTriggerEnabled(input: $input) {\n      trigger {\n        id\n        enabled\n      }\n    }\n  }\n": typeof types.ConsoleSetTriggerEnabledDocument,
    "\n  mutation ConsoleDeleteTrigger($name: String!) {\n    deleteTrigger(input: { name: $name }) {\n      trigger {\n        id\n      }\n    }\n  }\n": typeof types.ConsoleDeleteTriggerDocument,
    "\n  mutation ConsoleAddStep($input: AddStepsInput!) {\n    addSteps(input: $input) {\n      steps {\n        id\n        state\n      }\n    }\n  }\n": typeof types.ConsoleAddStepDocument,
    "\n  query ConsoleFunctionMetrics($functionName: String!, $since: DateTime!, $until: DateTime!, $periodSeconds: Int!) {\n    functionMetrics(functionName: $functionName, since: $since, until: $until, periodSeconds: $periodSeconds) {\n      timestamp\n      invocations\n      errors\n      throttles\n      coldStarts\n      durationP50\n      durationP99\n      concurrentExecutionsMax\n    }\n  }\n": typeof types.ConsoleFunctionMetricsDocument,
    "\n  query ConsoleClusterMetrics($clusterId: ID!, $names: [String!]!, $from: DateTime!, $to: DateTime!, $periodSeconds: Int!) {\n    clusterMetrics(clusterId: $clusterId, names: $names, from: $from, to: $to, periodSeconds: $periodSeconds) {\n      name\n      datapoints {\n        at\n        value\n      }\n    }\n  }\n": typeof types.ConsoleClusterMetricsDocument,
    "\n  query StepHeader($id: ID!) {\n    step(id: $id) {\n      name\n      state\n      logStreamId\n    }\n  }\n": typeof types.StepHeaderDocument,
    "\n  subscription StepProgress($stepId: ID!) {\n    stepUpdates(stepId: $stepId) {\n      state\n      progress\n      exitCode\n      failureDetails {\n        message\n      }\n    }\n  }\n": typeof types.StepProgressDocument,
    "\n  query ListBuckets {\n    buckets {\n      name\n      createdAt\n    }\n  }\n": typeof types.ListBucketsDocument,
    "\n  query ListObjects($bucket: String!, $prefix: String, $after: String, $delimiter: String) {\n    objects(bucket: $bucket, prefix: $prefix, after: $after, delimiter: $delimiter, first: 100) {\n      commonPrefixes\n      edges {\n        node {\n          key\n          size\n          lastModified\n          etag\n        }\n      }\n      pageInfo {\n        hasNextPage\n        endCursor\n      }\n    }\n  }\n": typeof types.ListObjectsDocument,
    "\n  mutation CreateBucket($name: String!) {\n    createBucket(input: { name: $name }) {\n      bucket {\n        name\n        uri\n      }\n    }\n  }\n": typeof types.CreateBucketDocument,
    "\n  mutation DeleteBucket($name: String!, $force: Boolean) {\n    deleteBucket(input: { name: $name, force: $force }) {\n      name\n      deletedObjects\n    }\n  }\n": typeof types.DeleteBucketDocument,
    "\n  fragment ClusterFields on Cluster {\n    id\n    name\n    state\n    stateChangeReason {\n      code\n      message\n    }\n    applications\n    terminationProtected\n    autoTerminationIdleTimeoutSeconds\n    createdAt\n    readyAt\n    endedAt\n    instanceGroups {\n      id\n      role\n      instanceType\n      requestedCount\n      state\n    }\n    instances {\n      id\n      role\n      state\n      instanceType\n      groupId\n      placedOn {\n        name\n      }\n    }\n  }\n": typeof types.ClusterFieldsFragmentDoc,
    "\n  mutation CreateCluster($input: CreateClusterInput!) {\n    createCluster(input: $input) {\n      cluster {\n        ...ClusterFields\n      }\n    }\n  }\n": typeof types.CreateClusterDocument,
    "\n  query ListClusters($first: Int, $after: String, $filter: ClusterFilter) {\n    clusters(first: $first, after: $after, filter: $filter) {\n      edges {\n        node {\n          id\n          name\n          state\n          createdAt\n          instanceGroups {\n            role\n            requestedCount\n          }\n        }\n      }\n      pageInfo {\n        hasNextPage\n        endCursor\n      }\n    }\n  }\n": typeof types.ListClustersDocument,
    "\n  query DescribeCluster($id: ID!) {\n    cluster(id: $id) {\n      ...ClusterFields\n    }\n  }\n": typeof types.DescribeClusterDocument,
    "\n  mutation ResizeGroup($input: ModifyInstanceGroupInput!) {\n    modifyInstanceGroup(input: $input) {\n      instanceGroup {\n        id\n        role\n        requestedCount\n        state\n      }\n    }\n  }\n": typeof types.ResizeGroupDocument,
    "\n  mutation TerminateClusters($ids: [ID!]!) {\n    terminateClusters(input: { ids: $ids }) {\n      clusters {\n        id\n        name\n        state\n      }\n    }\n  }\n": typeof types.TerminateClustersDocument,
    "\n  fragment FunctionFields on Function {\n    name\n    arn\n    runtime\n    handler\n    memoryMb\n    timeoutSeconds\n    codeSha256\n    codeSize\n    state\n    stateReason\n    lastUpdateStatus\n    lastUpdateStatusReason\n    lastModifiedAt\n  }\n": typeof types.FunctionFieldsFragmentDoc,
    "\n  query GetFunction($name: String!) {\n    function(name: $name) {\n      ...FunctionFields\n    }\n  }\n": typeof types.GetFunctionDocument,
    "\n  query ListFunctions($after: String) {\n    functions(first: 100, after: $after) {\n      edges {\n        node {\n          ...FunctionFields\n        }\n      }\n      pageInfo {\n        hasNextPage\n        endCursor\n      }\n    }\n  }\n": typeof types.ListFunctionsDocument,
    "\n  mutation CreateFunction($input: CreateFunctionInput!) {\n    createFunction(input: $input) {\n      function {\n        ...FunctionFields\n      }\n    }\n  }\n": typeof types.CreateFunctionDocument,
    "\n  mutation UpdateCode($input: UpdateFunctionCodeInput!) {\n    updateFunctionCode(input: $input) {\n      function {\n        ...FunctionFields\n      }\n    }\n  }\n": typeof types.UpdateCodeDocument,
    "\n  mutation UpdateConfiguration($input: UpdateFunctionConfigurationInput!) {\n    updateFunctionConfiguration(input: $input) {\n      function {\n        ...FunctionFields\n      }\n    }\n  }\n": typeof types.UpdateConfigurationDocument,
    "\n  mutation Invoke($input: InvokeFunctionInput!) {\n    invokeFunction(input: $input) {\n      statusCode\n      executedVersion\n      functionError\n      payload\n      logResult\n      invocation {\n        id\n        durationMs\n        billedDurationMs\n        coldStart\n      }\n    }\n  }\n": typeof types.InvokeDocument,
    "\n  mutation Publish($input: PublishVersionInput!) {\n    publishVersion(input: $input) {\n      version {\n        version\n        codeSha256\n        description\n        createdAt\n      }\n    }\n  }\n": typeof types.PublishDocument,
    "\n  query Aliases($name: String!) {\n    function(name: $name) {\n      aliases {\n        name\n      }\n    }\n  }\n": typeof types.AliasesDocument,
    "\n  fragment AliasFields on Alias {\n    name\n    functionVersion\n    arn\n    routing {\n      additionalVersionWeights {\n        version\n        weight\n      }\n    }\n  }\n": typeof types.AliasFieldsFragmentDoc,
    "\n  mutation CreateAlias($input: CreateAliasInput!) {\n    createAlias(input: $input) {\n      alias {\n        ...AliasFields\n      }\n    }\n  }\n": typeof types.CreateAliasDocument,
    "\n  mutation UpdateAlias($input: UpdateAliasInput!) {\n    updateAlias(input: $input) {\n      alias {\n        ...AliasFields\n      }\n    }\n  }\n": typeof types.UpdateAliasDocument,
    "\n  query FunctionTail($name: String!, $last: Int) {\n    function(name: $name) {\n      logs(last: $last) {\n        edges {\n          node {\n            ...LogLineFields\n          }\n        }\n      }\n    }\n  }\n": typeof types.FunctionTailDocument,
    "\n  mutation CreateKey($input: CreateApiKeyInput!) {\n    createApiKey(input: $input) {\n      key\n      s3AccessKeyId\n      s3SecretAccessKey\n      apiKey {\n        id\n        name\n        actions\n      }\n    }\n  }\n": typeof types.CreateKeyDocument,
    "\n  query ListKeys {\n    apiKeys {\n      id\n      name\n      actions\n      createdAt\n      revokedAt\n      s3AccessKeyId\n    }\n  }\n": typeof types.ListKeysDocument,
    "\n  mutation RevokeKey($id: ID!) {\n    revokeApiKey(input: { id: $id }) {\n      apiKey {\n        id\n        name\n        revokedAt\n      }\n    }\n  }\n": typeof types.RevokeKeyDocument,
    "\n  mutation Send($input: SendMessageInput!) {\n    sendMessage(input: $input) {\n      messageId\n      md5OfBody\n    }\n  }\n": typeof types.SendDocument,
    "\n  mutation Receive($input: ReceiveMessagesInput!) {\n    receiveMessages(input: $input) {\n      messages {\n        messageId\n        body\n        receiptHandle\n      }\n    }\n  }\n": typeof types.ReceiveDocument,
    "\n  mutation DeleteReceived($input: DeleteMessageInput!) {\n    deleteMessage(input: $input) {\n      deleted\n    }\n  }\n": typeof types.DeleteReceivedDocument,
    "\n  mutation AddSteps($input: AddStepsInput!) {\n    addSteps(input: $input) {\n      steps {\n        id\n        name\n        kind\n        state\n      }\n    }\n  }\n": typeof types.AddStepsDocument,
    "\n  query ListSteps($id: ID!, $first: Int, $after: String) {\n    cluster(id: $id) {\n      steps(first: $first, after: $after) {\n        edges {\n          node {\n            id\n            name\n            kind\n            state\n            progress\n            exitCode\n            createdAt\n          }\n        }\n        pageInfo {\n          hasNextPage\n          endCursor\n        }\n      }\n    }\n  }\n": typeof types.ListStepsDocument,
    "\n  query StepOutcome($id: ID!) {\n    step(id: $id) {\n      id\n      name\n      state\n      exitCode\n      failureDetails {\n        reason\n        message\n      }\n    }\n  }\n": typeof types.StepOutcomeDocument,
    "\n  mutation CancelSteps($input: CancelStepsInput!) {\n    cancelSteps(input: $input) {\n      results {\n        stepId\n        status\n        reason\n      }\n    }\n  }\n": typeof types.CancelStepsDocument,
    "\n  query StoredLines($id: ID!, $first: Int, $after: String, $last: Int) {\n    step(id: $id) {\n      logs(first: $first, after: $after, last: $last) {\n        edges {\n          node {\n            ...LogLineFields\n          }\n        }\n        pageInfo {\n          hasNextPage\n          endCursor\n        }\n      }\n    }\n  }\n": typeof types.StoredLinesDocument,
    "\n  query StepLogStream($id: ID!) {\n    step(id: $id) {\n      id\n      name\n      state\n      logStreamId\n    }\n  }\n": typeof types.StepLogStreamDocument,
    "\n  fragment LogLineFields on LogLine {\n    cursor\n    at\n    stream\n    text\n  }\n": typeof types.LogLineFieldsFragmentDoc,
    "\n  subscription LogLines($streamId: ID!, $after: String, $tail: Int) {\n    logBatches(streamId: $streamId, after: $after, tail: $tail) {\n      lines {\n        ...LogLineFields\n      }\n    }\n  }\n": typeof types.LogLinesDocument,
    "\n  subscription FunctionLogLines($functionName: String!, $after: String, $tail: Int) {\n    functionLogs(functionName: $functionName, after: $after, tail: $tail) {\n      ...LogLineFields\n    }\n  }\n": typeof types.FunctionLogLinesDocument,
};
const documents: Documents = {
    "\n  query ConsoleWhoAmI {\n    instanceTypes {\n      name\n    }\n  }\n": types.ConsoleWhoAmIDocument,
    "\n  query ConsoleBuckets {\n    buckets {\n      name\n      uri\n      createdAt\n    }\n  }\n": types.ConsoleBucketsDocument,
    "\n  mutation ConsoleCreateBucket($name: String!) {\n    createBucket(input: { name: $name }) {\n      bucket {\n        name\n      }\n    }\n  }\n": types.ConsoleCreateBucketDocument,
    "\n  query ConsoleObjects($bucket: String!, $prefix: String, $after: String) {\n    objects(bucket: $bucket, prefix: $prefix, delimiter: \"/\", first: 100, after: $after) {\n      commonPrefixes\n      edges {\n        node {\n          key\n          size\n          lastModified\n          contentType\n        }\n      }\n      pageInfo {\n        hasNextPage\n        endCursor\n      }\n    }\n  }\n": types.ConsoleObjectsDocument,
    "\n  query ConsoleCluster($id: ID!) {\n    cluster(id: $id) {\n      id\n      name\n      state\n      stateChangeReason {\n        code\n        message\n      }\n      applications\n      terminationProtected\n      createdAt\n      readyAt\n      endedAt\n      instanceGroups {\n        id\n        role\n        instanceType\n        requestedCount\n        state\n      }\n      instances {\n        id\n        role\n        state\n        instanceType\n        groupId\n        placedOn {\n          name\n        }\n      }\n      steps(first: 50) {\n        edges {\n          node {\n            id\n            name\n            kind\n            state\n            progress\n            createdAt\n          }\n        }\n      }\n    }\n  }\n": types.ConsoleClusterDocument,
    "\n  subscription ConsoleClusterEvents($clusterId: ID!) {\n    clusterEvents(clusterId: $clusterId) {\n      cursor\n      at\n      kind\n      resourceId\n      state\n      previousState\n      message\n    }\n  }\n": types.ConsoleClusterEventsDocument,
    "\n  mutation ConsoleResize($input: ModifyInstanceGroupInput!) {\n    modifyInstanceGroup(input: $input) {\n      instanceGroup {\n        id\n        requestedCount\n        state\n      }\n    }\n  }\n": types.ConsoleResizeDocument,
    "\n  mutation ConsoleTerminate($ids: [ID!]!) {\n    terminateClusters(input: { ids: $ids }) {\n      clusters {\n        id\n        state\n      }\n    }\n  }\n": types.ConsoleTerminateDocument,
    "\n  query ConsoleClusters($filter: ClusterFilter, $after: String, $first: Int) {\n    clusters(first: $first, filter: $filter, after: $after) {\n      edges {\n        node {\n          id\n          name\n          state\n          createdAt\n          instanceGroups {\n            id\n            role\n            requestedCount\n          }\n        }\n      }\n      pageInfo {\n        hasNextPage\n        endCursor\n      }\n    }\n  }\n": types.ConsoleClustersDocument,
    "\n  query ConsoleCreateOptions {\n    instanceTypes {\n      name\n      vcpu\n      memoryMb\n    }\n    applications {\n      name\n      available\n      reason\n    }\n  }\n": types.ConsoleCreateOptionsDocument,
    "\n  mutation ConsoleCreateCluster($input: CreateClusterInput!) {\n    createCluster(input: $input) {\n      cluster {\n        id\n        name\n        state\n      }\n    }\n  }\n": types.ConsoleCreateClusterDocument,
    "\n  query ConsoleFunctions {\n    functions(first: 100) {\n      edges {\n        node {\n          name\n          runtime\n          handler\n          memoryMb\n          state\n          lastModifiedAt\n        }\n      }\n    }\n  }\n": types.ConsoleFunctionsDocument,
    "\n  mutation ConsoleCreateFunction($input: CreateFunctionInput!) {\n    createFunction(input: $input) {\n      function {\n        name\n        state\n      }\n    }\n  }\n": types.ConsoleCreateFunctionDocument,
    "\n  query ConsoleFunction($name: String!) {\n    function(name: $name) {\n      name\n      arn\n      runtime\n      handler\n      memoryMb\n      timeoutSeconds\n      codeSize\n      codeSha256\n      state\n      stateReason\n      lastUpdateStatus\n      lastModifiedAt\n      instances {\n        busy\n        total\n      }\n      versions {\n        version\n        description\n        createdAt\n      }\n      aliases {\n        name\n        functionVersion\n        routing {\n          additionalVersionWeights {\n            version\n            weight\n          }\n        }\n      }\n    }\n  }\n": types.ConsoleFunctionDocument,
    "\n  mutation ConsoleInvoke($input: InvokeFunctionInput!) {\n    invokeFunction(input: $input) {\n      statusCode\n      functionError\n      payload\n      executedVersion\n      invocation {\n        id\n        durationMs\n        billedDurationMs\n        coldStart\n        logs {\n          at\n          stream\n          text\n        }\n      }\n    }\n  }\n": types.ConsoleInvokeDocument,
    "\n  mutation ConsolePublishVersion($input: PublishVersionInput!) {\n    publishVersion(input: $input) {\n      version {\n        version\n      }\n    }\n  }\n": types.ConsolePublishVersionDocument,
    "\n  mutation ConsoleCreateAlias($input: CreateAliasInput!) {\n    createAlias(input: $input) {\n      alias {\n        name\n      }\n    }\n  }\n": types.ConsoleCreateAliasDocument,
    "\n  mutation ConsoleUpdateAlias($input: UpdateAliasInput!) {\n    updateAlias(input: $input) {\n      alias {\n        name\n        functionVersion\n        routing {\n          additionalVersionWeights {\n            version\n            weight\n          }\n        }\n      }\n    }\n  }\n": types.ConsoleUpdateAliasDocument,
    "\n  query ConsoleApiKeys {\n    apiKeys {\n      id\n      name\n      actions\n      s3AccessKeyId\n      createdAt\n      revokedAt\n    }\n  }\n": types.ConsoleApiKeysDocument,
    "\n  mutation ConsoleCreateApiKey($input: CreateApiKeyInput!) {\n    createApiKey(input: $input) {\n      key\n      s3AccessKeyId\n      s3SecretAccessKey\n      apiKey {\n        id\n        name\n      }\n    }\n  }\n": types.ConsoleCreateApiKeyDocument,
    "\n  mutation ConsoleRevokeApiKey($id: ID!) {\n    revokeApiKey(input: { id: $id }) {\n      apiKey {\n        id\n        revokedAt\n      }\n    }\n  }\n": types.ConsoleRevokeApiKeyDocument,
    "\n  query ConsoleQueues {\n    queues(first: 100) {\n      edges {\n        node {\n          id\n          name\n          approximateNumberOfMessages\n          approximateNumberOfMessagesNotVisible\n          redrivePolicy {\n            deadLetterQueueName\n            maxReceiveCount\n          }\n          createdAt\n        }\n      }\n    }\n  }\n": types.ConsoleQueuesDocument,
    "\n  query ConsoleQueue($name: String!) {\n    queue(name: $name) {\n      id\n      name\n      arn\n      approximateNumberOfMessages\n      approximateNumberOfMessagesNotVisible\n      approximateNumberOfMessagesDelayed\n      visibilityTimeoutSeconds\n      delaySeconds\n      messageRetentionSeconds\n      receiveMessageWaitTimeSeconds\n      redrivePolicy {\n        deadLetterQueueName\n        maxReceiveCount\n      }\n    }\n  }\n": types.ConsoleQueueDocument,
    "\n  mutation ConsoleCreateQueue($input: CreateQueueInput!) {\n    createQueue(input: $input) {\n      queue {\n        id\n        name\n      }\n    }\n  }\n": types.ConsoleCreateQueueDocument,
    "\n  mutation ConsoleSend($input: SendMessageInput!) {\n    sendMessage(input: $input) {\n      messageId\n    }\n  }\n": types.ConsoleSendDocument,
    "\n  mutation ConsoleReceive($input: ReceiveMessagesInput!) {\n    receiveMessages(input: $input) {\n      messages {\n        messageId\n        body\n        receiptHandle\n        messageAttributes {\n          name\n          dataType\n          stringValue\n          binaryValue\n        }\n        attributes {\n          approximateReceiveCount\n          sentTimestamp\n        }\n      }\n    }\n  }\n": types.ConsoleReceiveDocument,
    "\n  mutation ConsoleDeleteMessage($input: DeleteMessageInput!) {\n    deleteMessage(input: $input) {\n      deleted\n    }\n  }\n": types.ConsoleDeleteMessageDocument,
    "\n  mutation ConsolePurge($name: String!) {\n    purgeQueue(input: { name: $name }) {\n      purged\n    }\n  }\n": types.ConsolePurgeDocument,
    "\n  query ConsoleSqlClusters {\n    clusters(first: 100, filter: { states: [WAITING, RUNNING] }) {\n      edges {\n        node {\n          id\n          name\n          applications\n        }\n      }\n    }\n  }\n": types.ConsoleSqlClustersDocument,
    "\n  query ConsoleSqlPreview($clusterId: ID!, $query: String!, $limit: Int) {\n    sqlPreview(clusterId: $clusterId, query: $query, limit: $limit) {\n      columns {\n        name\n        type\n      }\n      rows\n      truncated\n    }\n  }\n": types.ConsoleSqlPreviewDocument,
    "\n  query ConsoleStep($id: ID!) {\n    step(id: $id) {\n      id\n      name\n      kind\n      state\n      progress\n      clusterId\n      logStreamId\n      exitCode\n      failureDetails {\n        message\n      }\n    }\n  }\n": types.ConsoleStepDocument,
    "\n  subscription ConsoleStepUpdates($stepId: ID!) {\n    stepUpdates(stepId: $stepId) {\n      id\n      state\n      progress\n      exitCode\n      failureDetails {\n        message\n      }\n    }\n  }\n": types.ConsoleStepUpdatesDocument,
    "\n  subscription ConsoleLogTail($streamId: ID!, $tail: Int) {\n    logBatches(streamId: $streamId, tail: $tail) {\n      lines {\n        cursor\n        at\n        stream\n        text\n      }\n    }\n  }\n": types.ConsoleLogTailDocument,
    "\n  query ConsoleOlderLines($id: ID!, $before: String) {\n    step(id: $id) {\n      logs(last: 100, before: $before) {\n        edges {\n          node {\n            cursor\n            at\n            stream\n            text\n          }\n        }\n        pageInfo {\n          hasPreviousPage\n        }\n      }\n    }\n  }\n": types.ConsoleOlderLinesDocument,
    "\n  mutation ConsoleCancel($input: CancelStepsInput!) {\n    cancelSteps(input: $input) {\n      results {\n        stepId\n        status\n        reason\n      }\n    }\n  }\n": types.ConsoleCancelDocument,
    "\n  query ConsoleTopics {\n    topics(first: 100) {\n      edges {\n        node {\n          id\n          name\n          createdAt\n          queueSubscriptions {\n            id\n          }\n          subscriptions {\n            id\n          }\n        }\n      }\n    }\n  }\n": types.ConsoleTopicsDocument,
    "\n  query ConsoleTopic($name: String!) {\n    topic(name: $name) {\n      id\n      name\n      arn\n      queueSubscriptions {\n        id\n        queueName\n        rawMessageDelivery\n        filterPolicy\n      }\n      subscriptions {\n        id\n        name\n        functionName\n        enabled\n      }\n    }\n  }\n": types.ConsoleTopicDocument,
    "\n  mutation ConsoleCreateTopic($name: String!) {\n    createTopic(input: { name: $name }) {\n      topic {\n        id\n        name\n      }\n    }\n  }\n": types.ConsoleCreateTopicDocument,
    "\n  mutation ConsolePublish($input: PublishInput!) {\n    publish(input: $input) {\n      messageId\n      deliveries\n    }\n  }\n": types.ConsolePublishDocument,
    "\n  mutation ConsoleSubscribeQueue($input: SubscribeQueueInput!) {\n    subscribeQueue(input: $input) {\n      subscription {\n        id\n      }\n    }\n  }\n": types.ConsoleSubscribeQueueDocument,
    "\n  query ConsoleTriggers($filter: TriggerFilter) {\n    triggers(first: 100, filter: $filter) {\n      edges {\n        node {\n          id\n          name\n          functionName\n          qualifier\n          sourceType\n          enabled\n          config\n          createdAt\n          schedule {\n            nextFireAt\n          }\n          http {\n            url\n          }\n        }\n      }\n    }\n    functions(first: 100) {\n      edges {\n        node {\n          name\n        }\n      }\n    }\n  }\n": types.ConsoleTriggersDocument,
    "\n  mutation ConsoleCreateTrigger($input: CreateTriggerInput!) {\n    createTrigger(input: $input) {\n      trigger {\n        id\n        name\n      }\n    }\n  }\n": types.ConsoleCreateTriggerDocument,
    "\n  mutation ConsoleSetTriggerEnabled($input: SetTriggerEnabledInput!) {\n    setTriggerEnabled(input: $input) {\n      trigger {\n        id\n        enabled\n      }\n    }\n  }\n": types.ConsoleSetTriggerEnabledDocument,
    "\n  mutation ConsoleDeleteTrigger($name: String!) {\n    deleteTrigger(input: { name: $name }) {\n      trigger {\n        id\n      }\n    }\n  }\n": types.ConsoleDeleteTriggerDocument,
    "\n  mutation ConsoleAddStep($input: AddStepsInput!) {\n    addSteps(input: $input) {\n      steps {\n        id\n        state\n      }\n    }\n  }\n": types.ConsoleAddStepDocument,
    "\n  query ConsoleFunctionMetrics($functionName: String!, $since: DateTime!, $until: DateTime!, $periodSeconds: Int!) {\n    functionMetrics(functionName: $functionName, since: $since, until: $until, periodSeconds: $periodSeconds) {\n      timestamp\n      invocations\n      errors\n      throttles\n      coldStarts\n      durationP50\n      durationP99\n      concurrentExecutionsMax\n    }\n  }\n": types.ConsoleFunctionMetricsDocument,
    "\n  query ConsoleClusterMetrics($clusterId: ID!, $names: [String!]!, $from: DateTime!, $to: DateTime!, $periodSeconds: Int!) {\n    clusterMetrics(clusterId: $clusterId, names: $names, from: $from, to: $to, periodSeconds: $periodSeconds) {\n      name\n      datapoints {\n        at\n        value\n      }\n    }\n  }\n": types.ConsoleClusterMetricsDocument,
    "\n  query StepHeader($id: ID!) {\n    step(id: $id) {\n      name\n      state\n      logStreamId\n    }\n  }\n": types.StepHeaderDocument,
    "\n  subscription StepProgress($stepId: ID!) {\n    stepUpdates(stepId: $stepId) {\n      state\n      progress\n      exitCode\n      failureDetails {\n        message\n      }\n    }\n  }\n": types.StepProgressDocument,
    "\n  query ListBuckets {\n    buckets {\n      name\n      createdAt\n    }\n  }\n": types.ListBucketsDocument,
    "\n  query ListObjects($bucket: String!, $prefix: String, $after: String, $delimiter: String) {\n    objects(bucket: $bucket, prefix: $prefix, after: $after, delimiter: $delimiter, first: 100) {\n      commonPrefixes\n      edges {\n        node {\n          key\n          size\n          lastModified\n          etag\n        }\n      }\n      pageInfo {\n        hasNextPage\n        endCursor\n      }\n    }\n  }\n": types.ListObjectsDocument,
    "\n  mutation CreateBucket($name: String!) {\n    createBucket(input: { name: $name }) {\n      bucket {\n        name\n        uri\n      }\n    }\n  }\n": types.CreateBucketDocument,
    "\n  mutation DeleteBucket($name: String!, $force: Boolean) {\n    deleteBucket(input: { name: $name, force: $force }) {\n      name\n      deletedObjects\n    }\n  }\n": types.DeleteBucketDocument,
    "\n  fragment ClusterFields on Cluster {\n    id\n    name\n    state\n    stateChangeReason {\n      code\n      message\n    }\n    applications\n    terminationProtected\n    autoTerminationIdleTimeoutSeconds\n    createdAt\n    readyAt\n    endedAt\n    instanceGroups {\n      id\n      role\n      instanceType\n      requestedCount\n      state\n    }\n    instances {\n      id\n      role\n      state\n      instanceType\n      groupId\n      placedOn {\n        name\n      }\n    }\n  }\n": types.ClusterFieldsFragmentDoc,
    "\n  mutation CreateCluster($input: CreateClusterInput!) {\n    createCluster(input: $input) {\n      cluster {\n        ...ClusterFields\n      }\n    }\n  }\n": types.CreateClusterDocument,
    "\n  query ListClusters($first: Int, $after: String, $filter: ClusterFilter) {\n    clusters(first: $first, after: $after, filter: $filter) {\n      edges {\n        node {\n          id\n          name\n          state\n          createdAt\n          instanceGroups {\n            role\n            requestedCount\n          }\n        }\n      }\n      pageInfo {\n        hasNextPage\n        endCursor\n      }\n    }\n  }\n": types.ListClustersDocument,
    "\n  query DescribeCluster($id: ID!) {\n    cluster(id: $id) {\n      ...ClusterFields\n    }\n  }\n": types.DescribeClusterDocument,
    "\n  mutation ResizeGroup($input: ModifyInstanceGroupInput!) {\n    modifyInstanceGroup(input: $input) {\n      instanceGroup {\n        id\n        role\n        requestedCount\n        state\n      }\n    }\n  }\n": types.ResizeGroupDocument,
    "\n  mutation TerminateClusters($ids: [ID!]!) {\n    terminateClusters(input: { ids: $ids }) {\n      clusters {\n        id\n        name\n        state\n      }\n    }\n  }\n": types.TerminateClustersDocument,
    "\n  fragment FunctionFields on Function {\n    name\n    arn\n    runtime\n    handler\n    memoryMb\n    timeoutSeconds\n    codeSha256\n    codeSize\n    state\n    stateReason\n    lastUpdateStatus\n    lastUpdateStatusReason\n    lastModifiedAt\n  }\n": types.FunctionFieldsFragmentDoc,
    "\n  query GetFunction($name: String!) {\n    function(name: $name) {\n      ...FunctionFields\n    }\n  }\n": types.GetFunctionDocument,
    "\n  query ListFunctions($after: String) {\n    functions(first: 100, after: $after) {\n      edges {\n        node {\n          ...FunctionFields\n        }\n      }\n      pageInfo {\n        hasNextPage\n        endCursor\n      }\n    }\n  }\n": types.ListFunctionsDocument,
    "\n  mutation CreateFunction($input: CreateFunctionInput!) {\n    createFunction(input: $input) {\n      function {\n        ...FunctionFields\n      }\n    }\n  }\n": types.CreateFunctionDocument,
    "\n  mutation UpdateCode($input: UpdateFunctionCodeInput!) {\n    updateFunctionCode(input: $input) {\n      function {\n        ...FunctionFields\n      }\n    }\n  }\n": types.UpdateCodeDocument,
    "\n  mutation UpdateConfiguration($input: UpdateFunctionConfigurationInput!) {\n    updateFunctionConfiguration(input: $input) {\n      function {\n        ...FunctionFields\n      }\n    }\n  }\n": types.UpdateConfigurationDocument,
    "\n  mutation Invoke($input: InvokeFunctionInput!) {\n    invokeFunction(input: $input) {\n      statusCode\n      executedVersion\n      functionError\n      payload\n      logResult\n      invocation {\n        id\n        durationMs\n        billedDurationMs\n        coldStart\n      }\n    }\n  }\n": types.InvokeDocument,
    "\n  mutation Publish($input: PublishVersionInput!) {\n    publishVersion(input: $input) {\n      version {\n        version\n        codeSha256\n        description\n        createdAt\n      }\n    }\n  }\n": types.PublishDocument,
    "\n  query Aliases($name: String!) {\n    function(name: $name) {\n      aliases {\n        name\n      }\n    }\n  }\n": types.AliasesDocument,
    "\n  fragment AliasFields on Alias {\n    name\n    functionVersion\n    arn\n    routing {\n      additionalVersionWeights {\n        version\n        weight\n      }\n    }\n  }\n": types.AliasFieldsFragmentDoc,
    "\n  mutation CreateAlias($input: CreateAliasInput!) {\n    createAlias(input: $input) {\n      alias {\n        ...AliasFields\n      }\n    }\n  }\n": types.CreateAliasDocument,
    "\n  mutation UpdateAlias($input: UpdateAliasInput!) {\n    updateAlias(input: $input) {\n      alias {\n        ...AliasFields\n      }\n    }\n  }\n": types.UpdateAliasDocument,
    "\n  query FunctionTail($name: String!, $last: Int) {\n    function(name: $name) {\n      logs(last: $last) {\n        edges {\n          node {\n            ...LogLineFields\n          }\n        }\n      }\n    }\n  }\n": types.FunctionTailDocument,
    "\n  mutation CreateKey($input: CreateApiKeyInput!) {\n    createApiKey(input: $input) {\n      key\n      s3AccessKeyId\n      s3SecretAccessKey\n      apiKey {\n        id\n        name\n        actions\n      }\n    }\n  }\n": types.CreateKeyDocument,
    "\n  query ListKeys {\n    apiKeys {\n      id\n      name\n      actions\n      createdAt\n      revokedAt\n      s3AccessKeyId\n    }\n  }\n": types.ListKeysDocument,
    "\n  mutation RevokeKey($id: ID!) {\n    revokeApiKey(input: { id: $id }) {\n      apiKey {\n        id\n        name\n        revokedAt\n      }\n    }\n  }\n": types.RevokeKeyDocument,
    "\n  mutation Send($input: SendMessageInput!) {\n    sendMessage(input: $input) {\n      messageId\n      md5OfBody\n    }\n  }\n": types.SendDocument,
    "\n  mutation Receive($input: ReceiveMessagesInput!) {\n    receiveMessages(input: $input) {\n      messages {\n        messageId\n        body\n        receiptHandle\n      }\n    }\n  }\n": types.ReceiveDocument,
    "\n  mutation DeleteReceived($input: DeleteMessageInput!) {\n    deleteMessage(input: $input) {\n      deleted\n    }\n  }\n": types.DeleteReceivedDocument,
    "\n  mutation AddSteps($input: AddStepsInput!) {\n    addSteps(input: $input) {\n      steps {\n        id\n        name\n        kind\n        state\n      }\n    }\n  }\n": types.AddStepsDocument,
    "\n  query ListSteps($id: ID!, $first: Int, $after: String) {\n    cluster(id: $id) {\n      steps(first: $first, after: $after) {\n        edges {\n          node {\n            id\n            name\n            kind\n            state\n            progress\n            exitCode\n            createdAt\n          }\n        }\n        pageInfo {\n          hasNextPage\n          endCursor\n        }\n      }\n    }\n  }\n": types.ListStepsDocument,
    "\n  query StepOutcome($id: ID!) {\n    step(id: $id) {\n      id\n      name\n      state\n      exitCode\n      failureDetails {\n        reason\n        message\n      }\n    }\n  }\n": types.StepOutcomeDocument,
    "\n  mutation CancelSteps($input: CancelStepsInput!) {\n    cancelSteps(input: $input) {\n      results {\n        stepId\n        status\n        reason\n      }\n    }\n  }\n": types.CancelStepsDocument,
    "\n  query StoredLines($id: ID!, $first: Int, $after: String, $last: Int) {\n    step(id: $id) {\n      logs(first: $first, after: $after, last: $last) {\n        edges {\n          node {\n            ...LogLineFields\n          }\n        }\n        pageInfo {\n          hasNextPage\n          endCursor\n        }\n      }\n    }\n  }\n": types.StoredLinesDocument,
    "\n  query StepLogStream($id: ID!) {\n    step(id: $id) {\n      id\n      name\n      state\n      logStreamId\n    }\n  }\n": types.StepLogStreamDocument,
    "\n  fragment LogLineFields on LogLine {\n    cursor\n    at\n    stream\n    text\n  }\n": types.LogLineFieldsFragmentDoc,
    "\n  subscription LogLines($streamId: ID!, $after: String, $tail: Int) {\n    logBatches(streamId: $streamId, after: $after, tail: $tail) {\n      lines {\n        ...LogLineFields\n      }\n    }\n  }\n": types.LogLinesDocument,
    "\n  subscription FunctionLogLines($functionName: String!, $after: String, $tail: Int) {\n    functionLogs(functionName: $functionName, after: $after, tail: $tail) {\n      ...LogLineFields\n    }\n  }\n": types.FunctionLogLinesDocument,
};

/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 *
 *
 * @example
 * ```ts
 * const query = graphql(`query GetUser($id: ID!) { user(id: $id) { name } }`);
 * ```
 *
 * The query argument is unknown!
 * Please regenerate the types.
 */
export function graphql(source: string): unknown;

/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query ConsoleWhoAmI {\n    instanceTypes {\n      name\n    }\n  }\n"): (typeof documents)["\n  query ConsoleWhoAmI {\n    instanceTypes {\n      name\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query ConsoleBuckets {\n    buckets {\n      name\n      uri\n      createdAt\n    }\n  }\n"): (typeof documents)["\n  query ConsoleBuckets {\n    buckets {\n      name\n      uri\n      createdAt\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation ConsoleCreateBucket($name: String!) {\n    createBucket(input: { name: $name }) {\n      bucket {\n        name\n      }\n    }\n  }\n"): (typeof documents)["\n  mutation ConsoleCreateBucket($name: String!) {\n    createBucket(input: { name: $name }) {\n      bucket {\n        name\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query ConsoleObjects($bucket: String!, $prefix: String, $after: String) {\n    objects(bucket: $bucket, prefix: $prefix, delimiter: \"/\", first: 100, after: $after) {\n      commonPrefixes\n      edges {\n        node {\n          key\n          size\n          lastModified\n          contentType\n        }\n      }\n      pageInfo {\n        hasNextPage\n        endCursor\n      }\n    }\n  }\n"): (typeof documents)["\n  query ConsoleObjects($bucket: String!, $prefix: String, $after: String) {\n    objects(bucket: $bucket, prefix: $prefix, delimiter: \"/\", first: 100, after: $after) {\n      commonPrefixes\n      edges {\n        node {\n          key\n          size\n          lastModified\n          contentType\n        }\n      }\n      pageInfo {\n        hasNextPage\n        endCursor\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query ConsoleCluster($id: ID!) {\n    cluster(id: $id) {\n      id\n      name\n      state\n      stateChangeReason {\n        code\n        message\n      }\n      applications\n      terminationProtected\n      createdAt\n      readyAt\n      endedAt\n      instanceGroups {\n        id\n        role\n        instanceType\n        requestedCount\n        state\n      }\n      instances {\n        id\n        role\n        state\n        instanceType\n        groupId\n        placedOn {\n          name\n        }\n      }\n      steps(first: 50) {\n        edges {\n          node {\n            id\n            name\n            kind\n            state\n            progress\n            createdAt\n          }\n        }\n      }\n    }\n  }\n"): (typeof documents)["\n  query ConsoleCluster($id: ID!) {\n    cluster(id: $id) {\n      id\n      name\n      state\n      stateChangeReason {\n        code\n        message\n      }\n      applications\n      terminationProtected\n      createdAt\n      readyAt\n      endedAt\n      instanceGroups {\n        id\n        role\n        instanceType\n        requestedCount\n        state\n      }\n      instances {\n        id\n        role\n        state\n        instanceType\n        groupId\n        placedOn {\n          name\n        }\n      }\n      steps(first: 50) {\n        edges {\n          node {\n            id\n            name\n            kind\n            state\n            progress\n            createdAt\n          }\n        }\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  subscription ConsoleClusterEvents($clusterId: ID!) {\n    clusterEvents(clusterId: $clusterId) {\n      cursor\n      at\n      kind\n      resourceId\n      state\n      previousState\n      message\n    }\n  }\n"): (typeof documents)["\n  subscription ConsoleClusterEvents($clusterId: ID!) {\n    clusterEvents(clusterId: $clusterId) {\n      cursor\n      at\n      kind\n      resourceId\n      state\n      previousState\n      message\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation ConsoleResize($input: ModifyInstanceGroupInput!) {\n    modifyInstanceGroup(input: $input) {\n      instanceGroup {\n        id\n        requestedCount\n        state\n      }\n    }\n  }\n"): (typeof documents)["\n  mutation ConsoleResize($input: ModifyInstanceGroupInput!) {\n    modifyInstanceGroup(input: $input) {\n      instanceGroup {\n        id\n        requestedCount\n        state\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation ConsoleTerminate($ids: [ID!]!) {\n    terminateClusters(input: { ids: $ids }) {\n      clusters {\n        id\n        state\n      }\n    }\n  }\n"): (typeof documents)["\n  mutation ConsoleTerminate($ids: [ID!]!) {\n    terminateClusters(input: { ids: $ids }) {\n      clusters {\n        id\n        state\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query ConsoleClusters($filter: ClusterFilter, $after: String, $first: Int) {\n    clusters(first: $first, filter: $filter, after: $after) {\n      edges {\n        node {\n          id\n          name\n          state\n          createdAt\n          instanceGroups {\n            id\n            role\n            requestedCount\n          }\n        }\n      }\n      pageInfo {\n        hasNextPage\n        endCursor\n      }\n    }\n  }\n"): (typeof documents)["\n  query ConsoleClusters($filter: ClusterFilter, $after: String, $first: Int) {\n    clusters(first: $first, filter: $filter, after: $after) {\n      edges {\n        node {\n          id\n          name\n          state\n          createdAt\n          instanceGroups {\n            id\n            role\n            requestedCount\n          }\n        }\n      }\n      pageInfo {\n        hasNextPage\n        endCursor\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query ConsoleCreateOptions {\n    instanceTypes {\n      name\n      vcpu\n      memoryMb\n    }\n    applications {\n      name\n      available\n      reason\n    }\n  }\n"): (typeof documents)["\n  query ConsoleCreateOptions {\n    instanceTypes {\n      name\n      vcpu\n      memoryMb\n    }\n    applications {\n      name\n      available\n      reason\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation ConsoleCreateCluster($input: CreateClusterInput!) {\n    createCluster(input: $input) {\n      cluster {\n        id\n        name\n        state\n      }\n    }\n  }\n"): (typeof documents)["\n  mutation ConsoleCreateCluster($input: CreateClusterInput!) {\n    createCluster(input: $input) {\n      cluster {\n        id\n        name\n        state\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query ConsoleFunctions {\n    functions(first: 100) {\n      edges {\n        node {\n          name\n          runtime\n          handler\n          memoryMb\n          state\n          lastModifiedAt\n        }\n      }\n    }\n  }\n"): (typeof documents)["\n  query ConsoleFunctions {\n    functions(first: 100) {\n      edges {\n        node {\n          name\n          runtime\n          handler\n          memoryMb\n          state\n          lastModifiedAt\n        }\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation ConsoleCreateFunction($input: CreateFunctionInput!) {\n    createFunction(input: $input) {\n      function {\n        name\n        state\n      }\n    }\n  }\n"): (typeof documents)["\n  mutation ConsoleCreateFunction($input: CreateFunctionInput!) {\n    createFunction(input: $input) {\n      function {\n        name\n        state\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query ConsoleFunction($name: String!) {\n    function(name: $name) {\n      name\n      arn\n      runtime\n      handler\n      memoryMb\n      timeoutSeconds\n      codeSize\n      codeSha256\n      state\n      stateReason\n      lastUpdateStatus\n      lastModifiedAt\n      instances {\n        busy\n        total\n      }\n      versions {\n        version\n        description\n        createdAt\n      }\n      aliases {\n        name\n        functionVersion\n        routing {\n          additionalVersionWeights {\n            version\n            weight\n          }\n        }\n      }\n    }\n  }\n"): (typeof documents)["\n  query ConsoleFunction($name: String!) {\n    function(name: $name) {\n      name\n      arn\n      runtime\n      handler\n      memoryMb\n      timeoutSeconds\n      codeSize\n      codeSha256\n      state\n      stateReason\n      lastUpdateStatus\n      lastModifiedAt\n      instances {\n        busy\n        total\n      }\n      versions {\n        version\n        description\n        createdAt\n      }\n      aliases {\n        name\n        functionVersion\n        routing {\n          additionalVersionWeights {\n            version\n            weight\n          }\n        }\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation ConsoleInvoke($input: InvokeFunctionInput!) {\n    invokeFunction(input: $input) {\n      statusCode\n      functionError\n      payload\n      executedVersion\n      invocation {\n        id\n        durationMs\n        billedDurationMs\n        coldStart\n        logs {\n          at\n          stream\n          text\n        }\n      }\n    }\n  }\n"): (typeof documents)["\n  mutation ConsoleInvoke($input: InvokeFunctionInput!) {\n    invokeFunction(input: $input) {\n      statusCode\n      functionError\n      payload\n      executedVersion\n      invocation {\n        id\n        durationMs\n        billedDurationMs\n        coldStart\n        logs {\n          at\n          stream\n          text\n        }\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation ConsolePublishVersion($input: PublishVersionInput!) {\n    publishVersion(input: $input) {\n      version {\n        version\n      }\n    }\n  }\n"): (typeof documents)["\n  mutation ConsolePublishVersion($input: PublishVersionInput!) {\n    publishVersion(input: $input) {\n      version {\n        version\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation ConsoleCreateAlias($input: CreateAliasInput!) {\n    createAlias(input: $input) {\n      alias {\n        name\n      }\n    }\n  }\n"): (typeof documents)["\n  mutation ConsoleCreateAlias($input: CreateAliasInput!) {\n    createAlias(input: $input) {\n      alias {\n        name\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation ConsoleUpdateAlias($input: UpdateAliasInput!) {\n    updateAlias(input: $input) {\n      alias {\n        name\n        functionVersion\n        routing {\n          additionalVersionWeights {\n            version\n            weight\n          }\n        }\n      }\n    }\n  }\n"): (typeof documents)["\n  mutation ConsoleUpdateAlias($input: UpdateAliasInput!) {\n    updateAlias(input: $input) {\n      alias {\n        name\n        functionVersion\n        routing {\n          additionalVersionWeights {\n            version\n            weight\n          }\n        }\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query ConsoleApiKeys {\n    apiKeys {\n      id\n      name\n      actions\n      s3AccessKeyId\n      createdAt\n      revokedAt\n    }\n  }\n"): (typeof documents)["\n  query ConsoleApiKeys {\n    apiKeys {\n      id\n      name\n      actions\n      s3AccessKeyId\n      createdAt\n      revokedAt\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation ConsoleCreateApiKey($input: CreateApiKeyInput!) {\n    createApiKey(input: $input) {\n      key\n      s3AccessKeyId\n      s3SecretAccessKey\n      apiKey {\n        id\n        name\n      }\n    }\n  }\n"): (typeof documents)["\n  mutation ConsoleCreateApiKey($input: CreateApiKeyInput!) {\n    createApiKey(input: $input) {\n      key\n      s3AccessKeyId\n      s3SecretAccessKey\n      apiKey {\n        id\n        name\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation ConsoleRevokeApiKey($id: ID!) {\n    revokeApiKey(input: { id: $id }) {\n      apiKey {\n        id\n        revokedAt\n      }\n    }\n  }\n"): (typeof documents)["\n  mutation ConsoleRevokeApiKey($id: ID!) {\n    revokeApiKey(input: { id: $id }) {\n      apiKey {\n        id\n        revokedAt\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query ConsoleQueues {\n    queues(first: 100) {\n      edges {\n        node {\n          id\n          name\n          approximateNumberOfMessages\n          approximateNumberOfMessagesNotVisible\n          redrivePolicy {\n            deadLetterQueueName\n            maxReceiveCount\n          }\n          createdAt\n        }\n      }\n    }\n  }\n"): (typeof documents)["\n  query ConsoleQueues {\n    queues(first: 100) {\n      edges {\n        node {\n          id\n          name\n          approximateNumberOfMessages\n          approximateNumberOfMessagesNotVisible\n          redrivePolicy {\n            deadLetterQueueName\n            maxReceiveCount\n          }\n          createdAt\n        }\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query ConsoleQueue($name: String!) {\n    queue(name: $name) {\n      id\n      name\n      arn\n      approximateNumberOfMessages\n      approximateNumberOfMessagesNotVisible\n      approximateNumberOfMessagesDelayed\n      visibilityTimeoutSeconds\n      delaySeconds\n      messageRetentionSeconds\n      receiveMessageWaitTimeSeconds\n      redrivePolicy {\n        deadLetterQueueName\n        maxReceiveCount\n      }\n    }\n  }\n"): (typeof documents)["\n  query ConsoleQueue($name: String!) {\n    queue(name: $name) {\n      id\n      name\n      arn\n      approximateNumberOfMessages\n      approximateNumberOfMessagesNotVisible\n      approximateNumberOfMessagesDelayed\n      visibilityTimeoutSeconds\n      delaySeconds\n      messageRetentionSeconds\n      receiveMessageWaitTimeSeconds\n      redrivePolicy {\n        deadLetterQueueName\n        maxReceiveCount\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation ConsoleCreateQueue($input: CreateQueueInput!) {\n    createQueue(input: $input) {\n      queue {\n        id\n        name\n      }\n    }\n  }\n"): (typeof documents)["\n  mutation ConsoleCreateQueue($input: CreateQueueInput!) {\n    createQueue(input: $input) {\n      queue {\n        id\n        name\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation ConsoleSend($input: SendMessageInput!) {\n    sendMessage(input: $input) {\n      messageId\n    }\n  }\n"): (typeof documents)["\n  mutation ConsoleSend($input: SendMessageInput!) {\n    sendMessage(input: $input) {\n      messageId\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation ConsoleReceive($input: ReceiveMessagesInput!) {\n    receiveMessages(input: $input) {\n      messages {\n        messageId\n        body\n        receiptHandle\n        messageAttributes {\n          name\n          dataType\n          stringValue\n          binaryValue\n        }\n        attributes {\n          approximateReceiveCount\n          sentTimestamp\n        }\n      }\n    }\n  }\n"): (typeof documents)["\n  mutation ConsoleReceive($input: ReceiveMessagesInput!) {\n    receiveMessages(input: $input) {\n      messages {\n        messageId\n        body\n        receiptHandle\n        messageAttributes {\n          name\n          dataType\n          stringValue\n          binaryValue\n        }\n        attributes {\n          approximateReceiveCount\n          sentTimestamp\n        }\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation ConsoleDeleteMessage($input: DeleteMessageInput!) {\n    deleteMessage(input: $input) {\n      deleted\n    }\n  }\n"): (typeof documents)["\n  mutation ConsoleDeleteMessage($input: DeleteMessageInput!) {\n    deleteMessage(input: $input) {\n      deleted\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation ConsolePurge($name: String!) {\n    purgeQueue(input: { name: $name }) {\n      purged\n    }\n  }\n"): (typeof documents)["\n  mutation ConsolePurge($name: String!) {\n    purgeQueue(input: { name: $name }) {\n      purged\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query ConsoleSqlClusters {\n    clusters(first: 100, filter: { states: [WAITING, RUNNING] }) {\n      edges {\n        node {\n          id\n          name\n          applications\n        }\n      }\n    }\n  }\n"): (typeof documents)["\n  query ConsoleSqlClusters {\n    clusters(first: 100, filter: { states: [WAITING, RUNNING] }) {\n      edges {\n        node {\n          id\n          name\n          applications\n        }\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query ConsoleSqlPreview($clusterId: ID!, $query: String!, $limit: Int) {\n    sqlPreview(clusterId: $clusterId, query: $query, limit: $limit) {\n      columns {\n        name\n        type\n      }\n      rows\n      truncated\n    }\n  }\n"): (typeof documents)["\n  query ConsoleSqlPreview($clusterId: ID!, $query: String!, $limit: Int) {\n    sqlPreview(clusterId: $clusterId, query: $query, limit: $limit) {\n      columns {\n        name\n        type\n      }\n      rows\n      truncated\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query ConsoleStep($id: ID!) {\n    step(id: $id) {\n      id\n      name\n      kind\n      state\n      progress\n      clusterId\n      logStreamId\n      exitCode\n      failureDetails {\n        message\n      }\n    }\n  }\n"): (typeof documents)["\n  query ConsoleStep($id: ID!) {\n    step(id: $id) {\n      id\n      name\n      kind\n      state\n      progress\n      clusterId\n      logStreamId\n      exitCode\n      failureDetails {\n        message\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  subscription ConsoleStepUpdates($stepId: ID!) {\n    stepUpdates(stepId: $stepId) {\n      id\n      state\n      progress\n      exitCode\n      failureDetails {\n        message\n      }\n    }\n  }\n"): (typeof documents)["\n  subscription ConsoleStepUpdates($stepId: ID!) {\n    stepUpdates(stepId: $stepId) {\n      id\n      state\n      progress\n      exitCode\n      failureDetails {\n        message\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  subscription ConsoleLogTail($streamId: ID!, $tail: Int) {\n    logBatches(streamId: $streamId, tail: $tail) {\n      lines {\n        cursor\n        at\n        stream\n        text\n      }\n    }\n  }\n"): (typeof documents)["\n  subscription ConsoleLogTail($streamId: ID!, $tail: Int) {\n    logBatches(streamId: $streamId, tail: $tail) {\n      lines {\n        cursor\n        at\n        stream\n        text\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query ConsoleOlderLines($id: ID!, $before: String) {\n    step(id: $id) {\n      logs(last: 100, before: $before) {\n        edges {\n          node {\n            cursor\n            at\n            stream\n            text\n          }\n        }\n        pageInfo {\n          hasPreviousPage\n        }\n      }\n    }\n  }\n"): (typeof documents)["\n  query ConsoleOlderLines($id: ID!, $before: String) {\n    step(id: $id) {\n      logs(last: 100, before: $before) {\n        edges {\n          node {\n            cursor\n            at\n            stream\n            text\n          }\n        }\n        pageInfo {\n          hasPreviousPage\n        }\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation ConsoleCancel($input: CancelStepsInput!) {\n    cancelSteps(input: $input) {\n      results {\n        stepId\n        status\n        reason\n      }\n    }\n  }\n"): (typeof documents)["\n  mutation ConsoleCancel($input: CancelStepsInput!) {\n    cancelSteps(input: $input) {\n      results {\n        stepId\n        status\n        reason\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query ConsoleTopics {\n    topics(first: 100) {\n      edges {\n        node {\n          id\n          name\n          createdAt\n          queueSubscriptions {\n            id\n          }\n          subscriptions {\n            id\n          }\n        }\n      }\n    }\n  }\n"): (typeof documents)["\n  query ConsoleTopics {\n    topics(first: 100) {\n      edges {\n        node {\n          id\n          name\n          createdAt\n          queueSubscriptions {\n            id\n          }\n          subscriptions {\n            id\n          }\n        }\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query ConsoleTopic($name: String!) {\n    topic(name: $name) {\n      id\n      name\n      arn\n      queueSubscriptions {\n        id\n        queueName\n        rawMessageDelivery\n        filterPolicy\n      }\n      subscriptions {\n        id\n        name\n        functionName\n        enabled\n      }\n    }\n  }\n"): (typeof documents)["\n  query ConsoleTopic($name: String!) {\n    topic(name: $name) {\n      id\n      name\n      arn\n      queueSubscriptions {\n        id\n        queueName\n        rawMessageDelivery\n        filterPolicy\n      }\n      subscriptions {\n        id\n        name\n        functionName\n        enabled\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation ConsoleCreateTopic($name: String!) {\n    createTopic(input: { name: $name }) {\n      topic {\n        id\n        name\n      }\n    }\n  }\n"): (typeof documents)["\n  mutation ConsoleCreateTopic($name: String!) {\n    createTopic(input: { name: $name }) {\n      topic {\n        id\n        name\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation ConsolePublish($input: PublishInput!) {\n    publish(input: $input) {\n      messageId\n      deliveries\n    }\n  }\n"): (typeof documents)["\n  mutation ConsolePublish($input: PublishInput!) {\n    publish(input: $input) {\n      messageId\n      deliveries\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation ConsoleSubscribeQueue($input: SubscribeQueueInput!) {\n    subscribeQueue(input: $input) {\n      subscription {\n        id\n      }\n    }\n  }\n"): (typeof documents)["\n  mutation ConsoleSubscribeQueue($input: SubscribeQueueInput!) {\n    subscribeQueue(input: $input) {\n      subscription {\n        id\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query ConsoleTriggers($filter: TriggerFilter) {\n    triggers(first: 100, filter: $filter) {\n      edges {\n        node {\n          id\n          name\n          functionName\n          qualifier\n          sourceType\n          enabled\n          config\n          createdAt\n          schedule {\n            nextFireAt\n          }\n          http {\n            url\n          }\n        }\n      }\n    }\n    functions(first: 100) {\n      edges {\n        node {\n          name\n        }\n      }\n    }\n  }\n"): (typeof documents)["\n  query ConsoleTriggers($filter: TriggerFilter) {\n    triggers(first: 100, filter: $filter) {\n      edges {\n        node {\n          id\n          name\n          functionName\n          qualifier\n          sourceType\n          enabled\n          config\n          createdAt\n          schedule {\n            nextFireAt\n          }\n          http {\n            url\n          }\n        }\n      }\n    }\n    functions(first: 100) {\n      edges {\n        node {\n          name\n        }\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation ConsoleCreateTrigger($input: CreateTriggerInput!) {\n    createTrigger(input: $input) {\n      trigger {\n        id\n        name\n      }\n    }\n  }\n"): (typeof documents)["\n  mutation ConsoleCreateTrigger($input: CreateTriggerInput!) {\n    createTrigger(input: $input) {\n      trigger {\n        id\n        name\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation ConsoleSetTriggerEnabled($input: SetTriggerEnabledInput!) {\n    setTriggerEnabled(input: $input) {\n      trigger {\n        id\n        enabled\n      }\n    }\n  }\n"): (typeof documents)["\n  mutation ConsoleSetTriggerEnabled($input: SetTriggerEnabledInput!) {\n    setTriggerEnabled(input: $input) {\n      trigger {\n        id\n        enabled\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation ConsoleDeleteTrigger($name: String!) {\n    deleteTrigger(input: { name: $name }) {\n      trigger {\n        id\n      }\n    }\n  }\n"): (typeof documents)["\n  mutation ConsoleDeleteTrigger($name: String!) {\n    deleteTrigger(input: { name: $name }) {\n      trigger {\n        id\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation ConsoleAddStep($input: AddStepsInput!) {\n    addSteps(input: $input) {\n      steps {\n        id\n        state\n      }\n    }\n  }\n"): (typeof documents)["\n  mutation ConsoleAddStep($input: AddStepsInput!) {\n    addSteps(input: $input) {\n      steps {\n        id\n        state\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query ConsoleFunctionMetrics($functionName: String!, $since: DateTime!, $until: DateTime!, $periodSeconds: Int!) {\n    functionMetrics(functionName: $functionName, since: $since, until: $until, periodSeconds: $periodSeconds) {\n      timestamp\n      invocations\n      errors\n      throttles\n      coldStarts\n      durationP50\n      durationP99\n      concurrentExecutionsMax\n    }\n  }\n"): (typeof documents)["\n  query ConsoleFunctionMetrics($functionName: String!, $since: DateTime!, $until: DateTime!, $periodSeconds: Int!) {\n    functionMetrics(functionName: $functionName, since: $since, until: $until, periodSeconds: $periodSeconds) {\n      timestamp\n      invocations\n      errors\n      throttles\n      coldStarts\n      durationP50\n      durationP99\n      concurrentExecutionsMax\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query ConsoleClusterMetrics($clusterId: ID!, $names: [String!]!, $from: DateTime!, $to: DateTime!, $periodSeconds: Int!) {\n    clusterMetrics(clusterId: $clusterId, names: $names, from: $from, to: $to, periodSeconds: $periodSeconds) {\n      name\n      datapoints {\n        at\n        value\n      }\n    }\n  }\n"): (typeof documents)["\n  query ConsoleClusterMetrics($clusterId: ID!, $names: [String!]!, $from: DateTime!, $to: DateTime!, $periodSeconds: Int!) {\n    clusterMetrics(clusterId: $clusterId, names: $names, from: $from, to: $to, periodSeconds: $periodSeconds) {\n      name\n      datapoints {\n        at\n        value\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query StepHeader($id: ID!) {\n    step(id: $id) {\n      name\n      state\n      logStreamId\n    }\n  }\n"): (typeof documents)["\n  query StepHeader($id: ID!) {\n    step(id: $id) {\n      name\n      state\n      logStreamId\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  subscription StepProgress($stepId: ID!) {\n    stepUpdates(stepId: $stepId) {\n      state\n      progress\n      exitCode\n      failureDetails {\n        message\n      }\n    }\n  }\n"): (typeof documents)["\n  subscription StepProgress($stepId: ID!) {\n    stepUpdates(stepId: $stepId) {\n      state\n      progress\n      exitCode\n      failureDetails {\n        message\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query ListBuckets {\n    buckets {\n      name\n      createdAt\n    }\n  }\n"): (typeof documents)["\n  query ListBuckets {\n    buckets {\n      name\n      createdAt\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query ListObjects($bucket: String!, $prefix: String, $after: String, $delimiter: String) {\n    objects(bucket: $bucket, prefix: $prefix, after: $after, delimiter: $delimiter, first: 100) {\n      commonPrefixes\n      edges {\n        node {\n          key\n          size\n          lastModified\n          etag\n        }\n      }\n      pageInfo {\n        hasNextPage\n        endCursor\n      }\n    }\n  }\n"): (typeof documents)["\n  query ListObjects($bucket: String!, $prefix: String, $after: String, $delimiter: String) {\n    objects(bucket: $bucket, prefix: $prefix, after: $after, delimiter: $delimiter, first: 100) {\n      commonPrefixes\n      edges {\n        node {\n          key\n          size\n          lastModified\n          etag\n        }\n      }\n      pageInfo {\n        hasNextPage\n        endCursor\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation CreateBucket($name: String!) {\n    createBucket(input: { name: $name }) {\n      bucket {\n        name\n        uri\n      }\n    }\n  }\n"): (typeof documents)["\n  mutation CreateBucket($name: String!) {\n    createBucket(input: { name: $name }) {\n      bucket {\n        name\n        uri\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation DeleteBucket($name: String!, $force: Boolean) {\n    deleteBucket(input: { name: $name, force: $force }) {\n      name\n      deletedObjects\n    }\n  }\n"): (typeof documents)["\n  mutation DeleteBucket($name: String!, $force: Boolean) {\n    deleteBucket(input: { name: $name, force: $force }) {\n      name\n      deletedObjects\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  fragment ClusterFields on Cluster {\n    id\n    name\n    state\n    stateChangeReason {\n      code\n      message\n    }\n    applications\n    terminationProtected\n    autoTerminationIdleTimeoutSeconds\n    createdAt\n    readyAt\n    endedAt\n    instanceGroups {\n      id\n      role\n      instanceType\n      requestedCount\n      state\n    }\n    instances {\n      id\n      role\n      state\n      instanceType\n      groupId\n      placedOn {\n        name\n      }\n    }\n  }\n"): (typeof documents)["\n  fragment ClusterFields on Cluster {\n    id\n    name\n    state\n    stateChangeReason {\n      code\n      message\n    }\n    applications\n    terminationProtected\n    autoTerminationIdleTimeoutSeconds\n    createdAt\n    readyAt\n    endedAt\n    instanceGroups {\n      id\n      role\n      instanceType\n      requestedCount\n      state\n    }\n    instances {\n      id\n      role\n      state\n      instanceType\n      groupId\n      placedOn {\n        name\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation CreateCluster($input: CreateClusterInput!) {\n    createCluster(input: $input) {\n      cluster {\n        ...ClusterFields\n      }\n    }\n  }\n"): (typeof documents)["\n  mutation CreateCluster($input: CreateClusterInput!) {\n    createCluster(input: $input) {\n      cluster {\n        ...ClusterFields\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query ListClusters($first: Int, $after: String, $filter: ClusterFilter) {\n    clusters(first: $first, after: $after, filter: $filter) {\n      edges {\n        node {\n          id\n          name\n          state\n          createdAt\n          instanceGroups {\n            role\n            requestedCount\n          }\n        }\n      }\n      pageInfo {\n        hasNextPage\n        endCursor\n      }\n    }\n  }\n"): (typeof documents)["\n  query ListClusters($first: Int, $after: String, $filter: ClusterFilter) {\n    clusters(first: $first, after: $after, filter: $filter) {\n      edges {\n        node {\n          id\n          name\n          state\n          createdAt\n          instanceGroups {\n            role\n            requestedCount\n          }\n        }\n      }\n      pageInfo {\n        hasNextPage\n        endCursor\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query DescribeCluster($id: ID!) {\n    cluster(id: $id) {\n      ...ClusterFields\n    }\n  }\n"): (typeof documents)["\n  query DescribeCluster($id: ID!) {\n    cluster(id: $id) {\n      ...ClusterFields\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation ResizeGroup($input: ModifyInstanceGroupInput!) {\n    modifyInstanceGroup(input: $input) {\n      instanceGroup {\n        id\n        role\n        requestedCount\n        state\n      }\n    }\n  }\n"): (typeof documents)["\n  mutation ResizeGroup($input: ModifyInstanceGroupInput!) {\n    modifyInstanceGroup(input: $input) {\n      instanceGroup {\n        id\n        role\n        requestedCount\n        state\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation TerminateClusters($ids: [ID!]!) {\n    terminateClusters(input: { ids: $ids }) {\n      clusters {\n        id\n        name\n        state\n      }\n    }\n  }\n"): (typeof documents)["\n  mutation TerminateClusters($ids: [ID!]!) {\n    terminateClusters(input: { ids: $ids }) {\n      clusters {\n        id\n        name\n        state\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  fragment FunctionFields on Function {\n    name\n    arn\n    runtime\n    handler\n    memoryMb\n    timeoutSeconds\n    codeSha256\n    codeSize\n    state\n    stateReason\n    lastUpdateStatus\n    lastUpdateStatusReason\n    lastModifiedAt\n  }\n"): (typeof documents)["\n  fragment FunctionFields on Function {\n    name\n    arn\n    runtime\n    handler\n    memoryMb\n    timeoutSeconds\n    codeSha256\n    codeSize\n    state\n    stateReason\n    lastUpdateStatus\n    lastUpdateStatusReason\n    lastModifiedAt\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query GetFunction($name: String!) {\n    function(name: $name) {\n      ...FunctionFields\n    }\n  }\n"): (typeof documents)["\n  query GetFunction($name: String!) {\n    function(name: $name) {\n      ...FunctionFields\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query ListFunctions($after: String) {\n    functions(first: 100, after: $after) {\n      edges {\n        node {\n          ...FunctionFields\n        }\n      }\n      pageInfo {\n        hasNextPage\n        endCursor\n      }\n    }\n  }\n"): (typeof documents)["\n  query ListFunctions($after: String) {\n    functions(first: 100, after: $after) {\n      edges {\n        node {\n          ...FunctionFields\n        }\n      }\n      pageInfo {\n        hasNextPage\n        endCursor\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation CreateFunction($input: CreateFunctionInput!) {\n    createFunction(input: $input) {\n      function {\n        ...FunctionFields\n      }\n    }\n  }\n"): (typeof documents)["\n  mutation CreateFunction($input: CreateFunctionInput!) {\n    createFunction(input: $input) {\n      function {\n        ...FunctionFields\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation UpdateCode($input: UpdateFunctionCodeInput!) {\n    updateFunctionCode(input: $input) {\n      function {\n        ...FunctionFields\n      }\n    }\n  }\n"): (typeof documents)["\n  mutation UpdateCode($input: UpdateFunctionCodeInput!) {\n    updateFunctionCode(input: $input) {\n      function {\n        ...FunctionFields\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation UpdateConfiguration($input: UpdateFunctionConfigurationInput!) {\n    updateFunctionConfiguration(input: $input) {\n      function {\n        ...FunctionFields\n      }\n    }\n  }\n"): (typeof documents)["\n  mutation UpdateConfiguration($input: UpdateFunctionConfigurationInput!) {\n    updateFunctionConfiguration(input: $input) {\n      function {\n        ...FunctionFields\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation Invoke($input: InvokeFunctionInput!) {\n    invokeFunction(input: $input) {\n      statusCode\n      executedVersion\n      functionError\n      payload\n      logResult\n      invocation {\n        id\n        durationMs\n        billedDurationMs\n        coldStart\n      }\n    }\n  }\n"): (typeof documents)["\n  mutation Invoke($input: InvokeFunctionInput!) {\n    invokeFunction(input: $input) {\n      statusCode\n      executedVersion\n      functionError\n      payload\n      logResult\n      invocation {\n        id\n        durationMs\n        billedDurationMs\n        coldStart\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation Publish($input: PublishVersionInput!) {\n    publishVersion(input: $input) {\n      version {\n        version\n        codeSha256\n        description\n        createdAt\n      }\n    }\n  }\n"): (typeof documents)["\n  mutation Publish($input: PublishVersionInput!) {\n    publishVersion(input: $input) {\n      version {\n        version\n        codeSha256\n        description\n        createdAt\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query Aliases($name: String!) {\n    function(name: $name) {\n      aliases {\n        name\n      }\n    }\n  }\n"): (typeof documents)["\n  query Aliases($name: String!) {\n    function(name: $name) {\n      aliases {\n        name\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  fragment AliasFields on Alias {\n    name\n    functionVersion\n    arn\n    routing {\n      additionalVersionWeights {\n        version\n        weight\n      }\n    }\n  }\n"): (typeof documents)["\n  fragment AliasFields on Alias {\n    name\n    functionVersion\n    arn\n    routing {\n      additionalVersionWeights {\n        version\n        weight\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation CreateAlias($input: CreateAliasInput!) {\n    createAlias(input: $input) {\n      alias {\n        ...AliasFields\n      }\n    }\n  }\n"): (typeof documents)["\n  mutation CreateAlias($input: CreateAliasInput!) {\n    createAlias(input: $input) {\n      alias {\n        ...AliasFields\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation UpdateAlias($input: UpdateAliasInput!) {\n    updateAlias(input: $input) {\n      alias {\n        ...AliasFields\n      }\n    }\n  }\n"): (typeof documents)["\n  mutation UpdateAlias($input: UpdateAliasInput!) {\n    updateAlias(input: $input) {\n      alias {\n        ...AliasFields\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query FunctionTail($name: String!, $last: Int) {\n    function(name: $name) {\n      logs(last: $last) {\n        edges {\n          node {\n            ...LogLineFields\n          }\n        }\n      }\n    }\n  }\n"): (typeof documents)["\n  query FunctionTail($name: String!, $last: Int) {\n    function(name: $name) {\n      logs(last: $last) {\n        edges {\n          node {\n            ...LogLineFields\n          }\n        }\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation CreateKey($input: CreateApiKeyInput!) {\n    createApiKey(input: $input) {\n      key\n      s3AccessKeyId\n      s3SecretAccessKey\n      apiKey {\n        id\n        name\n        actions\n      }\n    }\n  }\n"): (typeof documents)["\n  mutation CreateKey($input: CreateApiKeyInput!) {\n    createApiKey(input: $input) {\n      key\n      s3AccessKeyId\n      s3SecretAccessKey\n      apiKey {\n        id\n        name\n        actions\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query ListKeys {\n    apiKeys {\n      id\n      name\n      actions\n      createdAt\n      revokedAt\n      s3AccessKeyId\n    }\n  }\n"): (typeof documents)["\n  query ListKeys {\n    apiKeys {\n      id\n      name\n      actions\n      createdAt\n      revokedAt\n      s3AccessKeyId\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation RevokeKey($id: ID!) {\n    revokeApiKey(input: { id: $id }) {\n      apiKey {\n        id\n        name\n        revokedAt\n      }\n    }\n  }\n"): (typeof documents)["\n  mutation RevokeKey($id: ID!) {\n    revokeApiKey(input: { id: $id }) {\n      apiKey {\n        id\n        name\n        revokedAt\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation Send($input: SendMessageInput!) {\n    sendMessage(input: $input) {\n      messageId\n      md5OfBody\n    }\n  }\n"): (typeof documents)["\n  mutation Send($input: SendMessageInput!) {\n    sendMessage(input: $input) {\n      messageId\n      md5OfBody\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation Receive($input: ReceiveMessagesInput!) {\n    receiveMessages(input: $input) {\n      messages {\n        messageId\n        body\n        receiptHandle\n      }\n    }\n  }\n"): (typeof documents)["\n  mutation Receive($input: ReceiveMessagesInput!) {\n    receiveMessages(input: $input) {\n      messages {\n        messageId\n        body\n        receiptHandle\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation DeleteReceived($input: DeleteMessageInput!) {\n    deleteMessage(input: $input) {\n      deleted\n    }\n  }\n"): (typeof documents)["\n  mutation DeleteReceived($input: DeleteMessageInput!) {\n    deleteMessage(input: $input) {\n      deleted\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation AddSteps($input: AddStepsInput!) {\n    addSteps(input: $input) {\n      steps {\n        id\n        name\n        kind\n        state\n      }\n    }\n  }\n"): (typeof documents)["\n  mutation AddSteps($input: AddStepsInput!) {\n    addSteps(input: $input) {\n      steps {\n        id\n        name\n        kind\n        state\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query ListSteps($id: ID!, $first: Int, $after: String) {\n    cluster(id: $id) {\n      steps(first: $first, after: $after) {\n        edges {\n          node {\n            id\n            name\n            kind\n            state\n            progress\n            exitCode\n            createdAt\n          }\n        }\n        pageInfo {\n          hasNextPage\n          endCursor\n        }\n      }\n    }\n  }\n"): (typeof documents)["\n  query ListSteps($id: ID!, $first: Int, $after: String) {\n    cluster(id: $id) {\n      steps(first: $first, after: $after) {\n        edges {\n          node {\n            id\n            name\n            kind\n            state\n            progress\n            exitCode\n            createdAt\n          }\n        }\n        pageInfo {\n          hasNextPage\n          endCursor\n        }\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query StepOutcome($id: ID!) {\n    step(id: $id) {\n      id\n      name\n      state\n      exitCode\n      failureDetails {\n        reason\n        message\n      }\n    }\n  }\n"): (typeof documents)["\n  query StepOutcome($id: ID!) {\n    step(id: $id) {\n      id\n      name\n      state\n      exitCode\n      failureDetails {\n        reason\n        message\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation CancelSteps($input: CancelStepsInput!) {\n    cancelSteps(input: $input) {\n      results {\n        stepId\n        status\n        reason\n      }\n    }\n  }\n"): (typeof documents)["\n  mutation CancelSteps($input: CancelStepsInput!) {\n    cancelSteps(input: $input) {\n      results {\n        stepId\n        status\n        reason\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query StoredLines($id: ID!, $first: Int, $after: String, $last: Int) {\n    step(id: $id) {\n      logs(first: $first, after: $after, last: $last) {\n        edges {\n          node {\n            ...LogLineFields\n          }\n        }\n        pageInfo {\n          hasNextPage\n          endCursor\n        }\n      }\n    }\n  }\n"): (typeof documents)["\n  query StoredLines($id: ID!, $first: Int, $after: String, $last: Int) {\n    step(id: $id) {\n      logs(first: $first, after: $after, last: $last) {\n        edges {\n          node {\n            ...LogLineFields\n          }\n        }\n        pageInfo {\n          hasNextPage\n          endCursor\n        }\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query StepLogStream($id: ID!) {\n    step(id: $id) {\n      id\n      name\n      state\n      logStreamId\n    }\n  }\n"): (typeof documents)["\n  query StepLogStream($id: ID!) {\n    step(id: $id) {\n      id\n      name\n      state\n      logStreamId\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  fragment LogLineFields on LogLine {\n    cursor\n    at\n    stream\n    text\n  }\n"): (typeof documents)["\n  fragment LogLineFields on LogLine {\n    cursor\n    at\n    stream\n    text\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  subscription LogLines($streamId: ID!, $after: String, $tail: Int) {\n    logBatches(streamId: $streamId, after: $after, tail: $tail) {\n      lines {\n        ...LogLineFields\n      }\n    }\n  }\n"): (typeof documents)["\n  subscription LogLines($streamId: ID!, $after: String, $tail: Int) {\n    logBatches(streamId: $streamId, after: $after, tail: $tail) {\n      lines {\n        ...LogLineFields\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  subscription FunctionLogLines($functionName: String!, $after: String, $tail: Int) {\n    functionLogs(functionName: $functionName, after: $after, tail: $tail) {\n      ...LogLineFields\n    }\n  }\n"): (typeof documents)["\n  subscription FunctionLogLines($functionName: String!, $after: String, $tail: Int) {\n    functionLogs(functionName: $functionName, after: $after, tail: $tail) {\n      ...LogLineFields\n    }\n  }\n"];

export function graphql(source: string) {
  return (documents as any)[source] ?? {};
}

export type DocumentType<TDocumentNode extends DocumentNode<any, any>> = TDocumentNode extends DocumentNode<  infer TType,  any>  ? TType  : never;