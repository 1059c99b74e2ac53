// emberplane clusters create|list|describe|resize|terminate
import { readFileSync } from 'node:fs';
import { Command, Option } from 'commander';
import type { EmberplaneClient } from '../../client/client.js';
import { graphql } from '../../client/gql/index.js';
import type { ClusterState, CreateClusterInput } from '../../client/gql/graphql.js';
import { waitFor } from '../../client/wait.js';
import { CliError, collect, contextOf, EXIT, wholeNumber } from '../context.js';
import { printRecord, printRows } from '../output.js';

// a fragment the documents below spread (...ClusterFields); codegen reads it from this call
graphql(`
  fragment ClusterFields on Cluster {
    id
    name
    state
    stateChangeReason {
      code
      message
    }
    applications
    terminationProtected
    autoTerminationIdleTimeoutSeconds
    createdAt
    readyAt
    endedAt
    instanceGroups {
      id
      role
      instanceType
      requestedCount
      state
    }
    instances {
      id
      role
      state
      instanceType
      groupId
      placedOn {
        name
      }
    }
  }
`);

const CreateCluster = graphql(`
  mutation CreateCluster($input: CreateClusterInput!) {
    createCluster(input: $input) {
      cluster {
        ...ClusterFields
      }
    }
  }
`);

const ListClusters = graphql(`
  query ListClusters($first: Int, $after: String, $filter: ClusterFilter) {
    clusters(first: $first, after: $after, filter: $filter) {
      edges {
        node {
          id
          name
          state
          createdAt
          instanceGroups {
            role
            requestedCount
          }
        }
      }
      pageInfo {
        hasNextPage
        endCursor
      }
    }
  }
`);

const DescribeCluster = graphql(`
  query DescribeCluster($id: ID!) {
    cluster(id: $id) {
      ...ClusterFields
    }
  }
`);

const ResizeGroup = graphql(`
  mutation ResizeGroup($input: ModifyInstanceGroupInput!) {
    modifyInstanceGroup(input: $input) {
      instanceGroup {
        id
        role
        requestedCount
        state
      }
    }
  }
`);

const TerminateClusters = graphql(`
  mutation TerminateClusters($ids: [ID!]!) {
    terminateClusters(input: { ids: $ids }) {
      clusters {
        id
        name
        state
      }
    }
  }
`);

const ENDED: ClusterState[] = ['TERMINATED', 'TERMINATED_WITH_ERRORS'];
const READY: ClusterState[] = ['WAITING', 'RUNNING'];

async function describe(client: EmberplaneClient, id: string) {
  const { cluster } = await client.request(DescribeCluster, { id });
  if (!cluster) throw new CliError(`NOT_FOUND (id): no cluster ${id}`, EXIT.REFUSED);
  return cluster;
}

type Described = Awaited<ReturnType<typeof describe>>;

function summary(c: Described): Record<string, unknown> {
  return {
    id: c.id,
    name: c.name,
    state: c.state,
    reason: c.stateChangeReason?.code ? `${c.stateChangeReason.code}: ${c.stateChangeReason.message ?? ''}` : null,
    applications: c.applications.join(',') || null,
    protected: c.terminationProtected,
    groups: c.instanceGroups.map((g) => `${g.role} ${g.instanceType}×${g.requestedCount} (${g.id})`).join('; '),
    instances: c.instances
      .filter((i) => i.state !== 'TERMINATED')
      .map((i) => `${i.role} ${i.id} ${i.state}${i.placedOn ? ` on ${i.placedOn.name}` : ''}`)
      .join('; '),
    createdAt: c.createdAt,
    readyAt: c.readyAt,
    endedAt: c.endedAt,
  };
}

/** Waits for one of `states`; a cluster that ends instead is a failure (exit code 1). */
async function waitForState(client: EmberplaneClient, id: string, states: ClusterState[]): Promise<Described> {
  const cluster = await waitFor(async () => {
    const c = await describe(client, id);
    return states.includes(c.state) || ENDED.includes(c.state) ? c : null;
  });
  if (!states.includes(cluster.state)) {
    const why = cluster.stateChangeReason ? `${cluster.stateChangeReason.code}: ${cluster.stateChangeReason.message}` : 'no reason given';
    throw new CliError(`cluster ${id} ended ${cluster.state} (${why})`, EXIT.FAILED);
  }
  return cluster;
}

function readInput(file: string): CreateClusterInput {
  try {
    return JSON.parse(readFileSync(file === '-' ? 0 : file, 'utf8')) as CreateClusterInput;
  } catch (err) {
    throw new CliError(`--input-json ${file}: ${(err as Error).message}`, EXIT.USAGE);
  }
}

export function clustersCommand(): Command {
  const clusters = new Command('clusters').description('create, list, describe, resize and terminate clusters');

  clusters
    .command('create')
    .description('create a cluster (a MASTER node, and CORE/TASK nodes as asked)')
    .option('--name <name>', 'the cluster name')
    .option('--instance-type <type>', 'instance type of every group', 'm5.xlarge')
    .option('--core <count>', 'CORE nodes', wholeNumber('--core'), 0)
    .option('--task <count>', 'TASK nodes', wholeNumber('--task'), 0)
    .option('--application <name>', 'an application to install, e.g. SPARK or DUCKDB (repeatable)', collect)
    .option('--idle-timeout <seconds>', 'terminate after this long idle', wholeNumber('--idle-timeout', 1))
    .option('--termination-protected', 'refuse termination until protection is removed')
    .option('--input-json <file>', 'the whole CreateClusterInput as JSON (a file, or - for stdin); the flags above are then ignored')
    .option('--wait', 'wait until the cluster is ready (WAITING or RUNNING); exit code 1 if it ends instead')
    .action(async (opts, command: Command) => {
      const { client, output } = contextOf(command);
      let input: CreateClusterInput;
      if (opts.inputJson) input = readInput(opts.inputJson);
      else {
        if (!opts.name) throw new CliError('--name is required (or --input-json)', EXIT.USAGE);
        const group = (role: 'MASTER' | 'CORE' | 'TASK', count: number) => ({ role, instanceType: opts.instanceType, count });
        input = {
          name: opts.name,
          instanceGroups: [
            group('MASTER', 1),
            ...(opts.core ? [group('CORE', opts.core)] : []),
            ...(opts.task ? [group('TASK', opts.task)] : []),
          ],
          ...(opts.application ? { applications: opts.application } : {}),
          ...(opts.idleTimeout ? { autoTerminationIdleTimeoutSeconds: opts.idleTimeout } : {}),
          ...(opts.terminationProtected ? { terminationProtected: true } : {}),
        };
      }
      let cluster: Described = (await client.request(CreateCluster, { input })).createCluster.cluster;
      if (opts.wait) cluster = await waitForState(client, cluster.id, READY);
      printRecord(output, output === 'json' ? cluster : summary(cluster));
    });

  clusters
    .command('list')
    .description('list clusters, newest first')
    .option('--state <state>', 'only clusters in this state (repeatable)', collect)
    .option('--name-contains <text>', 'only clusters whose name contains this')
    .option('--max <count>', 'at most this many', wholeNumber('--max', 1), 100)
    .action(async (opts, command: Command) => {
      const { client, output } = contextOf(command);
      const filter = {
        ...(opts.state ? { states: opts.state as ClusterState[] } : {}),
        ...(opts.nameContains ? { nameContains: opts.nameContains } : {}),
      };
      const rows = [];
      let after: string | null = null;
      while (rows.length < opts.max) {
        const page: Awaited<ReturnType<typeof listPage>> = await listPage(client, Math.min(100, opts.max - rows.length), after, filter);
        rows.push(...page.edges.map((e) => e.node));
        if (!page.pageInfo.hasNextPage) break;
        after = page.pageInfo.endCursor ?? null;
      }
      printRows(output, rows, [
        { header: 'ID', value: (c) => c.id },
        { header: 'NAME', value: (c) => c.name },
        { header: 'STATE', value: (c) => c.state },
        { header: 'NODES', value: (c) => c.instanceGroups.map((g) => `${g.role}×${g.requestedCount}`).join(' ') },
        { header: 'CREATED', value: (c) => c.createdAt },
      ]);
    });

  clusters
    .command('describe')
    .description("a cluster's state, groups and nodes")
    .argument('<cluster-id>')
    .action(async (id: string, _opts, command: Command) => {
      const { client, output } = contextOf(command);
      const cluster = await describe(client, id);
      printRecord(output, output === 'json' ? cluster : summary(cluster));
    });

  clusters
    .command('resize')
    .description('set the node count of an instance group (CORE or TASK)')
    .argument('<cluster-id>')
    .addOption(new Option('--role <role>', 'the group to resize').choices(['CORE', 'TASK']))
    .option('--group <group-id>', 'the group to resize (instead of --role)')
    .requiredOption('--count <count>', 'the new node count', wholeNumber('--count'))
    .option('--wait', 'wait until the group has that many running nodes')
    .action(async (clusterId: string, opts, command: Command) => {
      const { client, output } = contextOf(command);
      let groupId: string | undefined = opts.group;
      if (!groupId) {
        if (!opts.role) throw new CliError('--role or --group is required', EXIT.USAGE);
        const group = (await describe(client, clusterId)).instanceGroups.find((g) => g.role === opts.role);
        if (!group) throw new CliError(`NOT_FOUND (role): cluster ${clusterId} has no ${opts.role} group`, EXIT.REFUSED);
        groupId = group.id;
      }
      const { instanceGroup } = (
        await client.request(ResizeGroup, { input: { clusterId, instanceGroupId: groupId, instanceCount: opts.count } })
      ).modifyInstanceGroup;
      if (opts.wait) {
        await waitFor(async () => {
          const c = await describe(client, clusterId);
          if (ENDED.includes(c.state)) throw new CliError(`cluster ${clusterId} ended ${c.state} while resizing`, EXIT.FAILED);
          const nodes = c.instances.filter((i) => i.groupId === groupId && i.state !== 'TERMINATED');
          return nodes.length === opts.count && nodes.every((i) => i.state === 'RUNNING') ? c : null;
        });
      }
      printRecord(output, instanceGroup);
    });

  clusters
    .command('terminate')
    .description('terminate clusters (protected ones are refused)')
    .argument('<cluster-id...>')
    .option('--wait', 'wait until they have terminated')
    .action(async (ids: string[], opts, command: Command) => {
      const { client, output } = contextOf(command);
      let rows: { id: string; name: string; state: ClusterState }[] = (await client.request(TerminateClusters, { ids })).terminateClusters
        .clusters;
      if (opts.wait) rows = await Promise.all(ids.map((id) => waitForState(client, id, ['TERMINATED'])));
      printRows(output, rows, [
        { header: 'ID', value: (c) => c.id },
        { header: 'NAME', value: (c) => c.name },
        { header: 'STATE', value: (c) => c.state },
      ]);
    });

  return clusters;
}

async function listPage(client: EmberplaneClient, first: number, after: string | null, filter: Record<string, unknown>) {
  return (await client.request(ListClusters, { first, after, filter })).clusters;
}
