// The order test files start in. With two workers the suite's wall time is set by its tail: a
// two-minute file that starts last (a Spark cluster, an idle timeout that must pass in real time)
// keeps one worker busy while the other has nothing left. So the files that take longest start
// first: Spark clusters, then the system tests (servers killed and restarted, network namespaces),
// then the S3 clients and the CLI (many processes), then the rest. Within a group vitest's own
// order stands (the last run's durations when it has them, else the larger files first).
import { BaseSequencer, type TestSpecification } from 'vitest/node';

const FIRST = [
  /\/test\/spark\/idle-termination\.test\.ts$/, // an application held past the idle timeout, then the timeout itself, in real time
  /\/test\/spark\//,
  /\/test\/system\//,
  /\/test\/(storage\/s3|cli)\//,
];

const rank = (file: TestSpecification) => {
  const i = FIRST.findIndex((re) => re.test(file.moduleId));
  return i < 0 ? FIRST.length : i;
};

export default class LongestFirst extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const sorted = await super.sort(files);
    // a stable sort: vitest's order within each group is kept
    return sorted
      .map((file, i) => ({ file, i }))
      .sort((a, b) => rank(a.file) - rank(b.file) || a.i - b.i)
      .map((x) => x.file);
  }
}
